"""The settings pages' forms. They only validate choices; services do the work."""

import re

from django import forms
from django.conf import settings
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from .models import SalesforceConnection

Connection = SalesforceConnection
# My Domain login hosts (Salesforce Help "My Domain URL formats"): a production org's
# <name>.my.salesforce.com and a sandbox's <name>--<sandbox>.sandbox.my.salesforce.com.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
PRODUCTION_HOST = re.compile(rf"^(?!.*--){_LABEL}\.my\.salesforce\.com$")
SANDBOX_HOST = re.compile(rf"^{_LABEL}--[a-z0-9]+\.sandbox\.my\.salesforce\.com$")
LOGIN_HOST_HELP = (
    "Enter your org's My Domain login host, like acme.my.salesforce.com or "
    "acme--uat.sandbox.my.salesforce.com (Salesforce Setup → My Domain shows it)."
)


def normalise_login_host(value: str) -> str:
    """What an admin pastes: a host, or a URL of it. Lower-case host[:port], nothing else."""
    host = (value or "").strip().lower()
    host = host.removeprefix("https://").rstrip("/")
    return host


class ConnectForm(forms.Form):
    environment = forms.ChoiceField(
        choices=Connection.Environment.choices,
        initial=Connection.Environment.PRODUCTION,
        widget=forms.RadioSelect,
    )
    login_host = forms.CharField(
        label="Custom login host (optional)", required=False, max_length=255, help_text=LOGIN_HOST_HELP
    )
    confirm_replace = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        environment = data.get("environment")
        host = normalise_login_host(data.get("login_host", ""))
        data["login_host"] = host
        if not host or environment is None or host in settings.SALESFORCE_EXTRA_LOGIN_HOSTS:
            return data
        if SANDBOX_HOST.match(host):
            if environment != Connection.Environment.SANDBOX:
                self.add_error(
                    "login_host", f"{host} is a sandbox's login host: pick Sandbox, or enter your production My Domain."
                )
        elif PRODUCTION_HOST.match(host):
            if environment != Connection.Environment.PRODUCTION:
                self.add_error(
                    "login_host",
                    f"{host} is a production login host: pick Production, or enter the sandbox's My Domain (name--sandbox.sandbox.my.salesforce.com).",
                )
        else:
            self.add_error("login_host", f"“{host[:100]}” is not a Salesforce My Domain login host. {LOGIN_HOST_HELP}")
        return data


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
        label="Recaps become",
        choices=Connection.NoteType.choices,
        widget=forms.RadioSelect,
        required=False,
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


class FastSelect(forms.Select):
    """A select rendered with one escaped string join. Django's per-option templates cost tens
    of microseconds each, and an org of 3,000 users times every member's select made the
    mapping page take seconds."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = "" if value is None else str(value)
        options = format_html_join(
            "",
            "{}",
            (
                (format_html(SELECTED_OPTION if str(key) == selected else OPTION, key, label),)
                for key, label in self.choices
            ),
        )
        return format_html(
            "<select{}>{}</select>", flatatt(self.build_attrs(self.attrs, {**(attrs or {}), "name": name})), options
        )


OPTION = '<option value="{}">{}</option>'
SELECTED_OPTION = '<option value="{}" selected>{}</option>'


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
                label=f"Salesforce user for {mapping.user.email}",
                choices=choices,
                required=False,
                initial=current,
                widget=FastSelect,
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
