"""/settings/integrations/salesforce/: connect (OAuth), settings, user mapping, disconnect,
and the per-link toggle. Thin callers of oauth/services/selectors; every page is scoped to
request.workspace, members see status only, and the callback never answers with a 500."""
import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from bookings import selectors as booking_selectors
from bookings.timezones import user_zone
from workestra.tenancy import admin_required, member_required

from . import health_views, oauth, selectors, services
from .errors import NeedsReconnectError, PermanentError, RetryableError, SalesforceError
from .forms import ConfirmForm, ConnectForm, LinkToggleForm, MappingForm, SettingsForm
from .models import SalesforceConnection
from .services import PermissionsMissingError

logger = logging.getLogger("integrations.salesforce.views")
Status = SalesforceConnection.Status
Environment = SalesforceConnection.Environment

NOT_CONFIGURED = (
    "Salesforce integration not configured: SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not set. "
    "Ask support or your workspace admin."
)
CANCELLED_AT_SALESFORCE = "You cancelled at Salesforce; nothing was changed."


def _settings_url() -> str:
    return reverse("salesforce:settings")


def _connection(request) -> SalesforceConnection | None:
    return selectors.connection_for_workspace(request.workspace)


def missing_permissions_sentence(missing: list[str]) -> str:
    notes_only = all(item.endswith(" on Note") for item in missing)
    advice = "Ask your Salesforce admin to grant them" + (", or choose Events only." if notes_only else ".")
    return f"The connected Salesforce user lacks: {', '.join(item.rstrip('.') for item in missing)}. {advice}"


def connection_summary(connection: SalesforceConnection) -> str:
    """'Ada Admin (admin@acme.test) to org 00D… (Production)'; the org's name when known."""
    who = connection.sf_display_name or connection.sf_username
    if connection.sf_display_name and connection.sf_username:
        who = f"{connection.sf_display_name} ({connection.sf_username})"
    org = f"{connection.org_name} ({connection.org_id})" if connection.org_name else f"org {connection.org_id}"
    return f"{who} to {org} ({connection.get_environment_display()})"


# ---- the settings page -----------------------------------------------------------------------
@require_safe
@member_required
def settings_page(request):
    return _render_settings(request, _connection(request))


def _render_settings(request, connection, *, settings_form=None, settings_error="", status=200):
    is_admin = request.membership.is_admin
    live = connection is not None and connection.status != Status.DISCONNECTED
    context = {
        "connection": connection,
        "configured": oauth.is_configured(),
        "is_admin": is_admin,
        "live": live,
        "summary": connection_summary(connection) if connection and connection.org_id else "",
        "connect_form": ConnectForm(initial={"environment": connection.environment if connection else Environment.PRODUCTION}),
        "settings_form": settings_form or (SettingsForm.for_connection(connection) if live else None),
        "settings_error": settings_error,
        "missing_sentence": missing_permissions_sentence(connection.missing_permissions) if live and connection.missing_permissions else "",
        "zone": user_zone(request.user),
    }
    if live:
        context.update(
            open_operations=selectors.open_operations_count(connection),
            recent_errors=[
                (op, selectors.sync_record_links(connection, getattr(op.booking, "salesforce_sync", None)))
                for op in selectors.recent_errors(connection)
            ],
            usage=_usage(connection),
        )
        if is_admin:
            context["health"] = health_views.health_context(workspace=request.workspace, connection=connection, user=request.user)
    return render(request, "salesforce/settings.html", context, status=status)


def _usage(connection) -> dict | None:
    if connection.api_usage_share is None:
        return None
    percent = connection.api_usage_share * 100
    return {"percent": min(percent, 100), "text": f"{connection.api_usage_used or 0:,} / {connection.api_usage_total:,} ({percent:.1f}%)"}


# ---- connect ----------------------------------------------------------------------------------
@require_POST
@admin_required
def connect(request):
    if not oauth.is_configured():
        messages.error(request, NOT_CONFIGURED)
        return redirect(_settings_url())
    form = ConnectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick Production or Sandbox.")
        return redirect(_settings_url())
    environment = form.cleaned_data["environment"]
    connection = _connection(request)
    if _replaces(connection, environment) and not form.cleaned_data["confirm_replace"]:
        context = {
            "connection": connection,
            "environment": environment,
            "environment_label": Environment(environment).label,
            "summary": connection_summary(connection),
            "switches_environment": connection.environment != environment,
        }
        return render(request, "salesforce/confirm_replace.html", context)
    return redirect(oauth.start(request.session, environment=environment, user_id=request.user.pk))


def _replaces(connection, environment: str) -> bool:
    """A workspace has one org: connecting the other environment, or connecting again while an
    org is connected, replaces what is there, so the admin confirms first."""
    if connection is None or not connection.org_id:
        return False
    return connection.environment != environment or connection.status != Status.DISCONNECTED


# Cleansed on DEBUG pages and error reports in every frame below this view, where the code
# exchange holds the tokens as a plain dict.
@sensitive_variables("token", "access_token", "refresh_token", "code", "code_verifier", "pending")
@require_safe
@admin_required
def callback(request):
    """Salesforce redirects here after sign-in and consent. Every outcome is a message on the
    settings page; nothing is stored unless the state matches and the code is exchanged."""
    if error := request.GET.get("error"):
        # Only a reply carrying the pending state is Salesforce's: anyone can send an admin a link
        # to this URL with an error_description of their choosing. finish() also drops the pending connect.
        try:
            oauth.finish(request.session, state=request.GET.get("state"), user_id=request.user.pk)
        except oauth.StateError as exc:
            messages.error(request, str(exc))
            return redirect(_settings_url())
        if error == "access_denied":
            messages.info(request, CANCELLED_AT_SALESFORCE)
        else:
            description = request.GET.get("error_description", "")[:500]
            messages.error(request, f"Salesforce refused the connection ({error[:64]}): {description} Nothing was changed.")
        return redirect(_settings_url())
    try:
        pending = oauth.finish(request.session, state=request.GET.get("state"), user_id=request.user.pk)
    except oauth.StateError as exc:
        messages.error(request, str(exc))
        return redirect(_settings_url())
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Salesforce sent no authorization code. Start again with Connect.")
        return redirect(_settings_url())
    try:
        connection = services.connection_complete_oauth(
            workspace=request.workspace,
            user=request.user,
            environment=pending["environment"],
            code=code,
            code_verifier=pending["verifier"],
        )
    except SalesforceError as exc:
        logger.warning("salesforce.connect.failed", extra={"workspace_id": request.workspace.pk, "code": exc.code})
        messages.error(request, token_failure_message(exc))
        return redirect(_settings_url())
    messages.success(request, f"Connected as {connection_summary(connection)}.")
    if connection.missing_permissions:
        messages.warning(request, missing_permissions_sentence(connection.missing_permissions))
    if connection.last_error:
        messages.warning(request, connection.last_error)
    return redirect(_settings_url())


def token_failure_message(exc: SalesforceError) -> str:
    """What went wrong with the code exchange, in words an admin can act on."""
    if exc.code in ("invalid_client", "invalid_client_id"):
        return (
            f"Salesforce refused Workestra's OAuth client ({exc.code}): {exc.message}. "
            "Check SALESFORCE_CLIENT_ID/SECRET: they must be the Consumer Key and Secret of the Connected App. "
            "Nothing was changed."
        )
    if isinstance(exc, NeedsReconnectError) or exc.code in ("invalid_grant", "invalid_request"):
        return (
            f"Salesforce did not accept the sign-in ({exc.code}): {exc.message}. "
            "Nothing was changed; start again with Connect."
        )
    if isinstance(exc, RetryableError):
        return f"Salesforce could not be reached ({exc.message}). Nothing was changed; try Connect again."
    if isinstance(exc, PermanentError) and exc.code in ("API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"):
        return (
            f"The Salesforce user has no API access ({exc.code}): {exc.message}. "
            "Sign in as a user whose profile has \"API Enabled\"."
        )
    return f"Salesforce refused the connection ({exc.code or 'error'}): {exc.message}. Nothing was changed."


# ---- settings, disconnect ---------------------------------------------------------------------
@require_POST
@admin_required
def save_settings(request):
    connection = _connection(request)
    if connection is None or not connection.is_connected:
        messages.error(request, "Connect Salesforce before changing its settings.")
        return redirect(_settings_url())
    form = SettingsForm.for_connection(connection, request.POST)
    if not form.is_valid():
        return _render_settings(request, connection, settings_form=form, status=400)
    try:
        services.connection_update_settings(connection=connection, **form.cleaned_data)
    except PermissionsMissingError as exc:
        connection.refresh_from_db()
        return _render_settings(
            request, connection, settings_form=form, settings_error=missing_permissions_sentence(exc.missing), status=400
        )
    except SalesforceError as exc:
        connection.refresh_from_db()
        message = f"Salesforce could not check the permissions ({exc}). Nothing was saved; try again."
        return _render_settings(request, connection, settings_form=form, settings_error=message, status=400)
    messages.success(request, "Salesforce settings saved.")
    return redirect(_settings_url())


@require_POST
@admin_required
def disconnect(request):
    connection = _connection(request)
    if connection is None or connection.status == Status.DISCONNECTED:
        messages.info(request, "Salesforce is not connected.")
        return redirect(_settings_url())
    form = ConfirmForm(request.POST)
    if not (form.is_valid() and form.cleaned_data["confirm"]):
        return render(request, "salesforce/confirm_disconnect.html", {"connection": connection, "summary": connection_summary(connection)})
    warning = services.connection_disconnect(connection=connection)
    messages.success(request, "Salesforce is disconnected. Workestra's access was revoked and its tokens deleted.")
    if warning:
        messages.warning(request, warning)
    return redirect(_settings_url())


# ---- user mapping -----------------------------------------------------------------------------
@require_http_methods(["GET", "HEAD", "POST"])
@member_required
def mapping(request):
    """Every member's SFDC user; admins may override it (POST)."""
    if request.method == "POST" and not request.membership.is_admin:
        raise PermissionDenied("Only workspace admins can change the user mapping.")
    connection = _connection(request)
    if connection is None or not connection.org_id:
        if request.method == "POST":
            messages.error(request, "Connect Salesforce before mapping users.")
            return redirect(_settings_url())
        return _render_mapping(request, connection, None)
    if request.method != "POST":
        return _render_mapping(request, connection, _mapping_form(connection))
    form = _mapping_form(connection, request.POST)
    if not form.is_valid():
        return _render_mapping(request, connection, form, status=400)
    changes = form.changes()
    with transaction.atomic():
        for user, sf_user_id in changes:
            services.mapping_set_override(connection=connection, user=user, sf_user_id=sf_user_id or None)
    messages.success(request, f"User mapping saved ({len(changes)} changed)." if changes else "No changes to the user mapping.")
    return redirect(reverse("salesforce:mapping"))


def _mapping_form(connection, data=None) -> MappingForm:
    return MappingForm(
        data, mappings=selectors.workspace_mappings(connection), org_users=connection.org_users.filter(is_active=True)
    )


def _render_mapping(request, connection, form, status=200):
    context = {"connection": connection, "form": form, "is_admin": request.membership.is_admin}
    return render(request, "salesforce/mapping.html", context, status=status)


@require_POST
@admin_required
def mapping_refresh(request):
    connection = _connection(request)
    if connection is None or not connection.is_connected:
        messages.error(request, "Connect Salesforce before refreshing its users.")
        return redirect(reverse("salesforce:mapping"))
    try:
        count = services.org_users_refresh(connection=connection)
    except SalesforceError as exc:
        messages.error(request, f"Salesforce users could not be refreshed: {exc}")
    else:
        messages.success(request, f"Fetched {count} Salesforce users.")
    return redirect(reverse("salesforce:mapping"))


# ---- per-link toggle --------------------------------------------------------------------------
@require_POST
@member_required
def link_toggle(request, link_id: int):
    """The link's owner or an admin; 403 for other members, 404 outside the workspace."""
    link = booking_selectors.link_get_editable(membership=request.membership, link_id=link_id)
    form = LinkToggleForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("push_enabled must be on or off.")
    services.link_push_set(link=link, enabled=form.enabled, user=request.user)
    state = "on" if form.enabled else "off"
    messages.success(
        request, f"Push to Salesforce is {state} for “{link.title}”. It applies to new bookings; bookings already pushed stay in step."
    )
    return redirect(reverse("bookings:link_integrations", kwargs={"link_id": link.pk}))
