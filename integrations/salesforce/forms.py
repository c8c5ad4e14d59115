"""The settings pages' forms. They only validate choices; services do the work."""
from django import forms

from .models import SalesforceConnection

Connection = SalesforceConnection


class ConnectForm(forms.Form):
    environment = forms.ChoiceField(
        choices=Connection.Environment.choices,
        initial=Connection.Environment.PRODUCTION,
        widget=forms.RadioSelect,
    )
    confirm_replace = forms.BooleanField(required=False)


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(required=False)


class SettingsForm(forms.Form):
    object_scope = forms.ChoiceField(
        label="Object scope", choices=Connection.ObjectScope.choices, widget=forms.RadioSelect
    )
    cancel_behaviour = forms.ChoiceField(
        label="When a booking is cancelled", choices=Connection.CancelBehaviour.choices, widget=forms.RadioSelect
    )
    no_match_behaviour = forms.ChoiceField(
        label="When no Contact or Lead has the invitee's email",
        choices=Connection.NoMatchBehaviour.choices,
        widget=forms.RadioSelect,
    )
    # Optional so that a client posting only the older fields keeps the current note type.
    note_type = forms.ChoiceField(
        label="Recaps become", choices=Connection.NoteType.choices, widget=forms.RadioSelect, required=False,
        help_text="Enhanced Notes show in the Notes list of Lightning records (Notes must be on in Salesforce Setup); "
        "classic Notes only under Notes & Attachments.",
    )

    @classmethod
    def for_connection(cls, connection: SalesforceConnection, data=None) -> "SettingsForm":
        initial = {name: getattr(connection, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class LinkToggleForm(forms.Form):
    push_enabled = forms.ChoiceField(choices=[("on", "On"), ("off", "Off")])

    @property
    def enabled(self) -> bool:
        return self.cleaned_data["push_enabled"] == "on"


MATCH_BY_EMAIL = ""


class MappingForm(forms.Form):
    """One select per member: an active org user, or match by email (no override)."""

    def __init__(self, *args, mappings, org_users, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(MATCH_BY_EMAIL, "Match by email")] + [
            (u.sf_id, f"{u.name} ({u.email})") for u in org_users if u.is_active
        ]
        self.rows = []
        for mapping in mappings:
            name = self.field_name(mapping.user)
            current = mapping.sf_user.sf_id if mapping.source == "override" else MATCH_BY_EMAIL
            self.fields[name] = forms.ChoiceField(
                label=f"Salesforce user for {mapping.user.email}", choices=choices, required=False, initial=current
            )
            self.rows.append((mapping, self[name]))

    @staticmethod
    def field_name(user) -> str:
        return f"sf_user_{user.pk}"

    def changes(self) -> list[tuple[object, str]]:
        """(user, sf_user_id or '') for every member whose choice differs from now."""
        return [
            (mapping.user, self.cleaned_data[bound.name])
            for mapping, bound in self.rows
            if bound.name in self.data and self.cleaned_data[bound.name] != bound.initial
        ]
