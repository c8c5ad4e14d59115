"""Member-facing forms: field shapes only. The rules (unique slug, overlapping windows, ...)
live in link_services and come back as LinkError."""

from django import forms

from .availability import WeeklyWindow
from .link_services import MAX_DURATION, MIN_DURATION, SLUG_MAX_LENGTH, TITLE_MAX_LENGTH
from .models import AvailabilityRule


class LinkForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX_LENGTH)
    slug = forms.SlugField(
        label="URL name",
        max_length=SLUG_MAX_LENGTH,
        help_text="Letters, numbers, hyphens and underscores; unique in your workspace.",
    )
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=MIN_DURATION, max_value=MAX_DURATION)
    is_default = forms.BooleanField(label="My default link", required=False)


class AvailabilityWindowForm(forms.Form):
    # The blank choice keeps the form's empty extra row unchanged, so it is skipped, not refused.
    weekday = forms.TypedChoiceField(choices=[("", "—"), *AvailabilityRule.Weekday.choices], coerce=int)
    start_time = forms.TimeField(label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label="To", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            raise forms.ValidationError("The window must end after it starts.")
        return data


AvailabilityFormSet = forms.formset_factory(AvailabilityWindowForm, extra=1, can_delete=True, max_num=50)


def availability_initial(windows) -> list[dict]:
    return [{"weekday": w.weekday, "start_time": w.start, "end_time": w.end} for w in windows]


def windows_from_formset(formset) -> list[WeeklyWindow]:
    """The kept, filled-in rows of a valid formset."""
    return [
        WeeklyWindow(form.cleaned_data["weekday"], form.cleaned_data["start_time"], form.cleaned_data["end_time"])
        for form in formset.forms
        # Untouched blank rows have empty cleaned_data; untouched prefilled rows are kept.
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
