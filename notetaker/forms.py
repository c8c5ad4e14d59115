"""The host's edit of a recap: the summary and a formset of action items (same rules as the webhook)."""

from django import forms

from . import webhook
from .models import ACTION_ITEMS_MAX, ACTION_TEXT_MAX_CHARS, ASSIGNEE_MAX_CHARS, SUMMARY_MAX_CHARS


class RecapForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), max_length=SUMMARY_MAX_CHARS, strip=False)

    def clean_summary(self):
        try:
            return webhook.clean_summary(self.cleaned_data["summary"])
        except ValueError as error:
            raise forms.ValidationError(str(error).replace("summary", "The summary", 1)) from None


class ActionItemForm(forms.Form):
    text = forms.CharField(max_length=ACTION_TEXT_MAX_CHARS, required=False, widget=forms.TextInput)
    assignee = forms.CharField(max_length=ASSIGNEE_MAX_CHARS, required=False)
    due_date = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        if not data.get("text", "").strip() and (data.get("assignee") or data.get("due_date")):
            self.add_error("text", "An action item needs a text.")
        return data


ActionItemFormSet = forms.formset_factory(
    ActionItemForm,
    extra=2,
    can_delete=True,
    max_num=ACTION_ITEMS_MAX,
    validate_max=True,
    absolute_max=ACTION_ITEMS_MAX + 10,
)


def action_items_from(formset) -> list[webhook.ActionItemData]:
    """The kept, non-empty rows of a valid formset, in order."""
    items = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("text", "").strip():
            continue
        items.append(
            webhook.ActionItemData(data["text"].strip(), (data.get("assignee") or "").strip(), data.get("due_date"))
        )
    return items


def initial_items(recap) -> list[dict]:
    return [{"text": i.text, "assignee": i.assignee, "due_date": i.due_date} for i in recap.action_items.all()]
