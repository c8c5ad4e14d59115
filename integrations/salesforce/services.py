"""Writes for the connection's lifecycle: connect, settings, org users, mapping, disconnect."""
import logging
from django.db import transaction
from django.utils import timezone

from . import note_types, outbox
from .client import OAuthClient, SalesforceClient
from .crypto import protect_token
from .errors import PermanentError, SalesforceError
from .models import BookingSync, LinkPushSetting, SalesforceConnection, SalesforceUser, UserMappingOverride
from .soql import soql
from .tokens import refresh_access_token

logger = logging.getLogger("integrations.salesforce.services")
Status = SalesforceConnection.Status

# What each permission means to an admin, and how describe tells us we have it.
READ_OBJECTS = ("Lead", "Contact", "Account", "Opportunity")


class PermissionsMissingError(Exception):
    def __init__(self, missing: list[str]):
        super().__init__("; ".join(missing))
        self.missing = missing


def client_for(connection: SalesforceConnection, **kwargs) -> SalesforceClient:
    return SalesforceClient(connection, token_refresher=refresh_access_token, **kwargs)


def connection_complete_oauth(*, workspace, user, environment: str, code: str, code_verifier: str) -> SalesforceConnection:
    """Exchange the callback's code for tokens and store the connection (connection_save_tokens).
    Raises SalesforceError subclasses for Salesforce failures; nothing is stored then."""
    token = protect_token(OAuthClient(environment).exchange_code(code=code, code_verifier=code_verifier))
    return connection_save_tokens(workspace=workspace, user=user, environment=environment, token=token)


def connection_save_tokens(*, workspace, user, environment: str, token: dict) -> SalesforceConnection:
    """Read the identity, store the tokens (encrypted), cache the org's users, check
    permissions and replay any pushes that were waiting for a reconnect.

    Connecting another org (or the other environment) replaces the previous connection: a
    workspace has one org, never two.
    """
    token = protect_token(token)
    identity = OAuthClient(environment).identity(identity_url=token["id"], access_token=token["access_token"])
    with transaction.atomic():
        connection, _ = SalesforceConnection.objects.select_for_update().get_or_create(workspace=workspace)
        if connection.org_id and connection.org_id != identity["organization_id"]:
            _forget_previous_org(connection)
        connection.environment = environment
        connection.status = Status.CONNECTED
        connection.instance_url = token["instance_url"]
        connection.identity_url = token["id"]
        connection.org_id = identity["organization_id"]
        connection.sf_user_id = identity["user_id"]
        connection.sf_username = identity.get("username", "")
        connection.sf_display_name = identity.get("display_name", "")
        connection.access_token = token["access_token"]
        connection.refresh_token = token.get("refresh_token", "") or connection.refresh_token
        connection.connected_by = user
        connection.connected_at = timezone.now()
        connection.last_refreshed_at = timezone.now()
        connection.last_error = ""
        connection.deferred_until = None
        connection.deferred_reason = ""
        connection.save()
    logger.info("salesforce.connection.connected", extra={"connection_id": connection.pk, "environment": environment})
    # Permissions first and on their own: a user without API access fails every other call,
    # and that is exactly what the admin must be told.
    for first_check in (connection_check_permissions, org_users_refresh):
        try:
            first_check(connection=connection)
        except SalesforceError as exc:
            _record_error(connection, f"Connected, but a first check failed: {exc.message}")
    outbox.resume_waiting(connection=connection)
    connection.refresh_from_db()
    return connection


def _forget_previous_org(connection: SalesforceConnection) -> None:
    """Ids from another org mean nothing in this one."""
    connection.org_users.all().delete()
    connection.mapping_overrides.all().delete()
    BookingSync.objects.filter(workspace=connection.workspace).update(
        sf_event_id="", event_state=BookingSync.EventState.NONE, create_sent_at=None
    )
    connection.api_usage_used = connection.api_usage_total = None


def connection_disconnect(*, connection: SalesforceConnection) -> str:
    """Revoke the refresh token at Salesforce and delete the tokens here. Idempotent.
    Returns a warning for the admin when Salesforce could not confirm the revoke."""
    warning = ""
    if connection.refresh_token:
        try:
            OAuthClient(connection.environment).revoke(token=connection.refresh_token)
        except SalesforceError:
            warning = (
                "Salesforce could not be reached to revoke the token; it was deleted here. "
                "To be certain, revoke Workestra under Connected Apps OAuth Usage in Salesforce Setup."
            )
    connection.access_token = ""  # nosec B105  # deletes the token on disconnect
    connection.refresh_token = ""  # nosec B105  # deletes the token on disconnect
    connection.status = Status.DISCONNECTED
    connection.save()
    outbox.hold_open_operations(connection=connection, reason="Salesforce is disconnected; this waits for a reconnect.")
    logger.info("salesforce.connection.disconnected", extra={"connection_id": connection.pk})
    return warning


def connection_mark_needs_reconnect(*, connection: SalesforceConnection, reason: str) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        status=Status.NEEDS_RECONNECT, last_error=reason, last_error_at=timezone.now()
    )


def connection_check_permissions(
    *, connection: SalesforceConnection, object_scope: str | None = None, note_type: str | None = None
) -> list[str]:
    """Ask Salesforce (one composite call of describes) what the connected user may do.
    Returns the missing permissions in plain words ([] when all is well) and stores them when
    they are for the connection's own scope and note type (a choice the admin only tried is
    not stored). While no admin has chosen a note type, this also picks the default one."""
    store = object_scope in (None, connection.object_scope) and note_type in (None, connection.note_type)
    object_scope = object_scope or connection.object_scope
    client = client_for(connection, enforce_budget=False)
    # Both kinds of note are described whatever the scope: the default note type depends on
    # whether ContentNote is createable, and a describe costs no extra call inside /composite.
    objects = ["Event", *READ_OBJECTS, *note_types.DESCRIBED]
    try:
        responses = client.composite([client.describe_subrequest(name, name) for name in objects])
    except PermanentError as exc:
        if exc.code in {"API_CURRENTLY_DISABLED", "API_DISABLED_FOR_ORG"}:
            missing = [f"API access: the profile of {connection.sf_username or 'the connected user'} has no \"API Enabled\" permission."]
            if store:
                _store_missing(connection, missing)
            return missing
        raise
    describes = {r["referenceId"]: (r["body"] if r["httpStatusCode"] == 200 else {}) for r in responses}
    if store and not connection.note_type_chosen:
        note_types.apply_default(connection, describes)
    note_type = note_type or connection.note_type
    writes = ["Event"]
    if object_scope == SalesforceConnection.ObjectScope.EVENTS_AND_NOTES:
        writes += note_types.objects_to_write(note_type)
    missing = []
    for name in objects:
        describe = describes.get(name, {})
        if name in writes:
            if not describe.get("createable"):
                missing.append(f"Create on {name}")
            if not describe.get("updateable") and name in note_types.UPDATED + ("Event",):
                missing.append(f"Edit on {name}")
        elif name in READ_OBJECTS and not describe.get("queryable"):
            missing.append(f"Read on {name}")
    if store:
        _store_missing(connection, missing)
    return missing


def _store_missing(connection: SalesforceConnection, missing: list[str]) -> None:
    connection.missing_permissions = missing
    SalesforceConnection.objects.filter(pk=connection.pk).update(missing_permissions=missing)


def connection_update_settings(
    *, connection: SalesforceConnection, object_scope: str, cancel_behaviour: str, no_match_behaviour: str, note_type: str = ""
) -> SalesforceConnection:
    """Save the admin's choices. Raises PermissionsMissingError (nothing saved) when the
    connected user lacks what the chosen scope and note type need. A blank `note_type`
    keeps the current one (and leaves it to the default rule if no admin chose one)."""
    missing = connection_check_permissions(connection=connection, object_scope=object_scope, note_type=note_type or None)
    if missing:
        raise PermissionsMissingError(missing)
    connection.object_scope = object_scope
    connection.cancel_behaviour = cancel_behaviour
    connection.no_match_behaviour = no_match_behaviour
    if note_type:
        connection.note_type, connection.note_type_chosen = note_type, True
    connection.save(update_fields=["object_scope", "cancel_behaviour", "no_match_behaviour", "note_type", "note_type_chosen", "updated_at"])
    _store_missing(connection, [])
    return connection


def org_users_refresh(*, connection: SalesforceConnection) -> int:
    """Cache the org's users (one query). Returns how many."""
    client = client_for(connection, enforce_budget=False)
    records = client.query(soql("SELECT Id, Username, Email, Name, IsActive FROM User ORDER BY Name"))
    now = timezone.now()
    with transaction.atomic():
        seen = []
        for record in records:
            seen.append(record["Id"])
            SalesforceUser.objects.update_or_create(
                connection=connection,
                sf_id=record["Id"],
                defaults={
                    "username": record.get("Username") or "",
                    "email": (record.get("Email") or "").lower(),
                    "name": record.get("Name") or "",
                    "is_active": bool(record.get("IsActive")),
                    "fetched_at": now,
                },
            )
        connection.org_users.exclude(sf_id__in=seen).delete()
        SalesforceConnection.objects.filter(pk=connection.pk).update(users_refreshed_at=now)
    remember_usage(connection, client)
    return len(records)


def mapping_set_override(*, connection: SalesforceConnection, user, sf_user_id: str | None) -> None:
    """Map `user` to an active org user, or (None) go back to matching by email."""
    if not sf_user_id:
        UserMappingOverride.objects.filter(connection=connection, user=user).delete()
        return
    if not connection.org_users.filter(sf_id=sf_user_id, is_active=True).exists():
        raise ValueError("Pick an active Salesforce user from the list.")
    UserMappingOverride.objects.update_or_create(connection=connection, user=user, defaults={"sf_user_id": sf_user_id})


def link_push_set(*, link, enabled: bool, user) -> LinkPushSetting:
    """Turn a link's "Push to Salesforce" on or off. Governs new bookings only; the caller
    checks that `user` owns the link or is an admin. Idempotent."""
    setting, _ = LinkPushSetting.objects.update_or_create(link=link, defaults={"push_enabled": enabled, "updated_by": user})
    return setting


def _record_error(connection: SalesforceConnection, message: str) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk).update(last_error=message, last_error_at=timezone.now())


def remember_usage(connection: SalesforceConnection, client: SalesforceClient) -> None:
    if client.usage is not None:
        SalesforceConnection.objects.filter(pk=connection.pk).update(
            api_usage_used=client.usage.used, api_usage_total=client.usage.total, api_usage_seen_at=timezone.now()
        )
