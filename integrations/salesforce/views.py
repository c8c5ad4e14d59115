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
from .errors import NeedsReconnectError, RetryableError, SalesforceError
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


ENHANCED_NOTE_OBJECTS = (" on ContentNote", " on ContentDocumentLink")


def missing_permissions_sentence(missing: list[str]) -> str:
    notes_only = all(item.endswith((" on Note", *ENHANCED_NOTE_OBJECTS)) for item in missing)
    enhanced = any(item.endswith(ENHANCED_NOTE_OBJECTS) for item in missing)
    advice = (
        "Ask your Salesforce admin to grant them"
        + (" (Enhanced Notes also need Notes turned on in Salesforce Setup, Notes Settings)" if enhanced else "")
        + (
            (", or choose classic Notes or Events only." if enhanced else ", or choose Events only.")
            if notes_only
            else "."
        )
    )
    return f"The connected Salesforce user lacks: {', '.join(item.rstrip('.') for item in missing)}. {advice}"


def connection_summary(connection: SalesforceConnection) -> str:
    """'Ada Admin (admin@acme.test) to Acme Corp (Production)': the org's name when known
    (read at connect), else its id; a custom login host is named."""
    who = connection.sf_display_name or connection.sf_username
    if connection.sf_display_name and connection.sf_username:
        who = f"{connection.sf_display_name} ({connection.sf_username})"
    org = connection.org_name or f"org {connection.org_id}"
    where = connection.get_environment_display()
    if connection.login_host:
        where += f", via {connection.login_host}"
    return f"{who} to {org} ({where})"


VIEW_ALL_WARNING = (
    'The connected Salesforce user can\'t read every Event (no "View All Data"). When Salesforce '
    "doesn't answer a create in time, Workestra looks for the Event before trying again; Events "
    "this user can't see can't be found, so a retry may create a second one. Connect as a user "
    "with View All Data, or grant it with a permission set."
)


# ---- the settings page -----------------------------------------------------------------------
@require_safe
@member_required
def settings_page(request):
    return _render_settings(request, _connection(request))


def _render_settings(request, connection, *, settings_form=None, settings_error="", connect_form=None, status=200):
    is_admin = request.membership.is_admin
    if connection is not None and connection.is_connected:
        services.connection_tokens_readable(connection=connection)
    live = connection is not None and connection.status != Status.DISCONNECTED
    context = {
        "connection": connection,
        "configured": oauth.is_configured(),
        "is_admin": is_admin,
        "live": live,
        "summary": connection_summary(connection) if connection and connection.org_id else "",
        "connect_form": connect_form
        or ConnectForm(
            initial={
                "environment": connection.environment if connection else Environment.PRODUCTION,
                "login_host": connection.login_host if connection else "",
            }
        ),
        "view_all_warning": VIEW_ALL_WARNING if live and connection.reads_all_events is False else "",
        "settings_form": settings_form or (SettingsForm.for_connection(connection) if live else None),
        "settings_error": settings_error,
        "missing_sentence": missing_permissions_sentence(connection.missing_permissions)
        if live and connection.missing_permissions
        else "",
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
            context["health"] = health_views.health_context(
                workspace=request.workspace, connection=connection, user=request.user
            )
    return render(request, "salesforce/settings.html", context, status=status)


def _usage(connection) -> dict | None:
    if connection.api_usage_share is None:
        return None
    percent = connection.api_usage_share * 100
    return {
        "percent": min(percent, 100),
        "text": f"{connection.api_usage_used or 0:,} / {connection.api_usage_total:,} ({percent:.1f}%)",
    }


# ---- connect ----------------------------------------------------------------------------------
@require_POST
@admin_required
def connect(request):
    if not oauth.is_configured():
        messages.error(request, NOT_CONFIGURED)
        return redirect(_settings_url())
    form = ConnectForm(request.POST)
    connection = _connection(request)
    if not form.is_valid():
        if "environment" in form.errors:
            messages.error(request, "Pick Production or Sandbox.")
            return redirect(_settings_url())
        # A login host we won't send the admin to: say why, keep what they typed, save nothing.
        return _render_settings(request, connection, connect_form=form, status=400)
    environment, login_host = form.cleaned_data["environment"], form.cleaned_data["login_host"]
    if _replaces(connection, environment) and not form.cleaned_data["confirm_replace"]:
        context = {
            "connection": connection,
            "environment": environment,
            "environment_label": Environment(environment).label,
            "summary": connection_summary(connection),
            "switches_environment": connection.environment != environment,
            "login_host": login_host,
        }
        return render(request, "salesforce/confirm_replace.html", context)
    return redirect(
        oauth.start(request.session, environment=environment, user_id=request.user.pk, login_host=login_host)
    )


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
            messages.error(request, connect_error_message(error[:64], request.GET.get("error_description", "")[:500]))
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
            login_host=pending.get("login_host", ""),
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


# What each connect error means and what to do next (Salesforce Help "OAuth 2.0 Authorization
# Errors"; the app-install rule of September 2025, Help article 005132365).
CONNECT_ERRORS = {
    "OAUTH_EC_APP_NOT_FOUND": (
        "Workestra isn't installed in this Salesforce org",
        "Since September 2025 an admin must install a connected app before users can authorize it: in Salesforce "
        "Setup → Connected Apps OAuth Usage, find Workestra and click Install (or ask your Salesforce admin), then Connect again.",
    ),
    "OAUTH_APP_BLOCKED": (
        "A Salesforce admin has blocked Workestra in this org",
        "Ask your Salesforce admin to unblock it under Setup → Connected Apps OAuth Usage, then Connect again.",
    ),
    "OAUTH_APP_ACCESS_DENIED": (
        "Your Salesforce user isn't allowed to use Workestra",
        "Ask your Salesforce admin to pre-authorize Workestra for your profile or a permission set, then Connect again.",
    ),
    "invalid_client_id": (
        "Salesforce doesn't know Workestra's OAuth client",
        "SALESFORCE_CLIENT_ID must be the Consumer Key of the Connected App (or External Client App) in this org; "
        "a newly created app can take up to 10 minutes to work. Ask support if it persists.",
    ),
    "invalid_client": (
        "Salesforce refused Workestra's OAuth client",
        "Check SALESFORCE_CLIENT_ID/SECRET: they must be the Consumer Key and Secret of the Connected App.",
    ),
    "redirect_uri_mismatch": (
        "The Connected App's callback URL doesn't match Workestra's",
        "In Salesforce, the app's Callback URL must be exactly PUBLIC_BASE_URL/settings/integrations/salesforce/callback/.",
    ),
    "inactive_user": (
        "That Salesforce user is deactivated",
        "Sign in as an active user, or ask your Salesforce admin to reactivate this one.",
    ),
    "inactive_org": (
        "That Salesforce org is inactive or locked",
        "Ask your Salesforce admin or Salesforce support; Workestra can connect once the org is active again.",
    ),
    "API_DISABLED_FOR_ORG": (
        "This Salesforce org has no API access",
        "Salesforce editions without API access (Professional Edition without the API add-on) can't be connected; ask Salesforce to enable the API.",
    ),
    "API_CURRENTLY_DISABLED": (
        "The Salesforce user has no API access",
        'Sign in as a user whose profile or a permission set has "API Enabled".',
    ),
}


def connect_error_message(code: str, description: str) -> str:
    """A failed connect in plain words: what happened, what to do next, Salesforce's own words."""
    known = CONNECT_ERRORS.get(code)
    if known is None:
        return f"Salesforce refused the connection ({code}): {description} Nothing was changed."
    what, next_step = known
    said = f"{code}: {description.rstrip('.')}" if description else code
    return f"{what}. {next_step} Nothing was changed. (Salesforce said {said}.)"


def token_failure_message(exc: SalesforceError) -> str:
    """What went wrong with the code exchange, in words an admin can act on."""
    if exc.code in ("invalid_client", "invalid_client_id"):
        return (
            f"Salesforce refused Workestra's OAuth client ({exc.code}): {exc.message}. "
            "Check SALESFORCE_CLIENT_ID/SECRET: they must be the Consumer Key and Secret of the Connected App. "
            "Nothing was changed."
        )
    if exc.code in CONNECT_ERRORS:
        return connect_error_message(exc.code, exc.message)
    if isinstance(exc, NeedsReconnectError) or exc.code in ("invalid_grant", "invalid_request"):
        return (
            f"Salesforce did not accept the sign-in ({exc.code}): {exc.message}. "
            "Nothing was changed; start again with Connect."
        )
    if isinstance(exc, RetryableError):
        return f"Salesforce could not be reached ({exc.message}). Nothing was changed; try Connect again."
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
            request,
            connection,
            settings_form=form,
            settings_error=missing_permissions_sentence(exc.missing),
            status=400,
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
        return render(
            request,
            "salesforce/confirm_disconnect.html",
            {"connection": connection, "summary": connection_summary(connection)},
        )
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
    messages.success(
        request, f"User mapping saved ({len(changes)} changed)." if changes else "No changes to the user mapping."
    )
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
        request,
        f"Push to Salesforce is {state} for “{link.title}”. It applies to new bookings; bookings already pushed stay in step.",
    )
    return redirect(reverse("bookings:link_integrations", kwargs={"link_id": link.pk}))
