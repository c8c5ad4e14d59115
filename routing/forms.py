"""Form shapes: the admin's builder (formsets) and the invitee's answer form. The rules that
span fields (one fallback, links of this workspace, ...) live in rules.py and come back from
services.form_save as RoutingFormError."""

from django import forms
from django.utils.text import slugify

from . import rules
from .models import Question, Route
from .rules import ConditionSpec, QuestionSpec, RouteSpec

CONDITION_SLOTS = 2
SHORT_TEXT_MAX_LENGTH = 500
EMAIL_MAX_LENGTH = 254
BLANK = [("", "—")]


class FormDetailsForm(forms.Form):
    name = forms.CharField(max_length=rules.NAME_MAX_LENGTH)
    slug = forms.SlugField(
        label="URL name",
        max_length=rules.SLUG_MAX_LENGTH,
        help_text="The public page is /forms/<workspace>/<URL name>/. Unique in your workspace.",
    )


class QuestionForm(forms.Form):
    label = forms.CharField(max_length=rules.LABEL_MAX_LENGTH)
    key = forms.SlugField(
        label="Field name", max_length=rules.KEY_MAX_LENGTH, required=False, help_text="Blank: made from the label."
    )
    kind = forms.ChoiceField(label="Type", choices=Question.Kind.choices)
    required = forms.BooleanField(required=False)
    options = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=5000,
        help_text="Single choice: one per line.",
    )

    def has_changed(self):
        # The type select always has a value; a blank row is only "filled in" by its text fields.
        return any(name in self.changed_data for name in ("label", "key", "options", "required"))

    def clean(self):
        data = super().clean()
        if data.get("label") and not data.get("key"):
            data["key"] = key_from_label(data["label"])
        data["options"] = tuple(line.strip() for line in (data.get("options") or "").splitlines() if line.strip())
        return data


def key_from_label(label: str) -> str:
    return slugify(label).replace("-", "_")[: rules.KEY_MAX_LENGTH]


class RouteForm(forms.Form):
    # data-action-select: static/js/routing_builder.js shows only the chosen action's fields.
    action = forms.ChoiceField(
        label="Then",
        choices=BLANK + Route.Action.choices,
        required=False,
        widget=forms.Select(attrs={"data-action-select": ""}),
    )
    link = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Booking link",
        error_messages={"invalid_choice": "That booking link was deleted or isn't in this workspace; pick another."},
    )
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=rules.MESSAGE_MAX_LENGTH, required=False
    )

    def __init__(self, *args, links=None, question_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["link"].queryset = links
        self.fields["link"].label_from_instance = lambda link: f"{link.title} ({link.owner.display_name})"
        for slot in range(1, CONDITION_SLOTS + 1):
            choices = BLANK + [(key, key) for key in question_keys]
            self.fields[f"question_{slot}"] = forms.ChoiceField(label="If", choices=choices, required=False)
            self.fields[f"operator_{slot}"] = forms.ChoiceField(
                label="Comparison", choices=Route.Operator.choices, required=False
            )
            self.fields[f"value_{slot}"] = forms.CharField(
                label="Value", max_length=rules.VALUE_MAX_LENGTH, required=False
            )

    def condition_rows(self):
        return [
            (self[f"question_{s}"], self[f"operator_{s}"], self[f"value_{s}"]) for s in range(1, CONDITION_SLOTS + 1)
        ]

    def has_changed(self):
        # The operator select always has a value; a row is only "filled in" by its other fields.
        return any(name in self.changed_data for name in self.fields if not name.startswith("operator_"))

    def clean(self):
        data = super().clean()
        conditions = []
        for slot in range(1, CONDITION_SLOTS + 1):
            question, value = data.get(f"question_{slot}"), (data.get(f"value_{slot}") or "").strip()
            if question and value:
                conditions.append(ConditionSpec(question, data.get(f"operator_{slot}") or "equals", value))
            elif question or value:
                self.add_error(f"value_{slot}", "A condition needs both a question and a value.")
        data["conditions"] = tuple(conditions)
        if not data.get("action") and not data.get("DELETE"):
            self.add_error("action", "Choose what this route does.")
        return data


class FallbackForm(forms.Form):
    action = forms.ChoiceField(
        label="Otherwise",
        choices=BLANK + [(Route.Action.BOOKING_LINK, "Go to a booking link"), (Route.Action.MESSAGE, "Show a message")],
        required=False,
        widget=forms.Select(attrs={"data-action-select": ""}),
    )
    link = RouteForm.base_fields["link"]
    message = RouteForm.base_fields["message"]

    def __init__(self, *args, links=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["link"].queryset = links
        self.fields["link"].label_from_instance = lambda link: f"{link.title} ({link.owner.display_name})"


QuestionFormSet = forms.formset_factory(
    QuestionForm, extra=1, can_delete=True, can_order=True, max_num=rules.MAX_QUESTIONS, validate_max=True
)
RouteFormSet = forms.formset_factory(
    RouteForm, extra=1, can_delete=True, can_order=True, max_num=rules.MAX_ROUTES - 1, validate_max=True
)


def question_specs(formset) -> list[QuestionSpec]:
    """The kept questions of a valid formset, in the admin's order."""
    return [
        QuestionSpec(
            key=f.cleaned_data["key"],
            label=f.cleaned_data["label"],
            kind=f.cleaned_data["kind"],
            required=f.cleaned_data["required"],
            options=f.cleaned_data["options"],
        )
        for f in formset.ordered_forms
    ]


def route_specs(formset, fallback: FallbackForm) -> list[RouteSpec]:
    """The kept routes of a valid formset, then the fallback (when one was chosen)."""
    routes = [
        RouteSpec(
            action=f.cleaned_data["action"],
            conditions=f.cleaned_data["conditions"],
            link_id=f.cleaned_data["link"].pk if f.cleaned_data.get("link") else None,
            message=f.cleaned_data.get("message") or "",
        )
        for f in formset.ordered_forms
    ]
    data = fallback.cleaned_data
    if data.get("action"):
        link = data.get("link")
        routes.append(
            RouteSpec(
                action=data["action"],
                link_id=link.pk if link else None,
                message=data.get("message") or "",
                is_fallback=True,
            )
        )
    return routes


def posted_question_keys(formset) -> list[str]:
    """The field names of the questions being edited (valid or not), for condition choices."""
    keys = []
    for form in formset.forms:
        if formset.is_bound:
            key = (form.data.get(form.add_prefix("key")) or "").strip()
            key = key or key_from_label(form.data.get(form.add_prefix("label")) or "")
            deleted = form.data.get(form.add_prefix("DELETE"))
        else:
            key, deleted = (form.initial or {}).get("key"), False
        if key and not deleted and key not in keys:
            keys.append(key)
    return keys


# ---- the invitee's side --------------------------------------------------------------------
class AnswerForm(forms.Form):
    """One field per question, named by the question's field name. Lengths are capped so a
    100 KB paste is a validation error, not a stored row."""

    def __init__(self, questions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            self.fields[question.key] = _answer_field(question)

    def answers(self) -> dict[str, str]:
        return {q.key: self.cleaned_data.get(q.key) or "" for q in self.questions}


def _answer_field(question: Question) -> forms.Field:
    common = {"label": question.label, "required": question.required}
    if question.kind == Question.Kind.EMAIL:
        widget = forms.EmailInput(attrs={"autocomplete": "email"})
        return forms.EmailField(max_length=EMAIL_MAX_LENGTH, widget=widget, **common)
    if question.kind == Question.Kind.SINGLE_CHOICE:
        return forms.ChoiceField(choices=[("", "Choose…")] + [(o, o) for o in question.options], **common)
    attrs = {"autocomplete": "name"} if rules.is_name_question(question.key, question.label, question.kind) else {}
    return forms.CharField(max_length=SHORT_TEXT_MAX_LENGTH, widget=forms.TextInput(attrs=attrs), **common)
