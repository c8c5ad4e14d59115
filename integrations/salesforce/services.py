"""Writes for the connection's lifecycle: connect, settings, org users, mapping, disconnect."""

import logging

from django.db import transaction
from django.utils import timezone

from . import note_types, outbox
from .client import OAuthClient, SalesforceClient
from .crypto import is_unreadable, protect_token
from .errors import NeedsReconnectError, PermanentError, SalesforceError
from .models import BookingSync, LinkPushSetting, SalesforceConnection, SalesforceUser, UserMappingOverride
from .soql import soql
from .tokens import UNREADABLE_TOKENS, mark_tokens_unreadable, refresh_access_token

logger = logging.getLogger("integrations.salesforce.services")
Status = SalesforceConnection.Status

# What each permission means to an admin, and how describe tells us we have it.
READ_OBJECTS = ("Lead", "Contact", "Account", "Opportunity")


class PermissionsMissingError(Exception):
    def __init__(self, missing: list[str]):
        super().__init__("; ".join(missing))
        self.missing = missing


def client_for(connection: SalesforceConnection, **kwargs) -> SalesforceClient:
    """A REST client for the connection. When its tokens can't be decrypted with the
    configured keys, the connection flips to needs reconnect and every call of the client
    raises NeedsReconnectError without sending anything, so callers (the drain) take their
    usual needs-reconnect path instead of failing."""
    if is_unreadable(connection.access_token) or is_unreadable(connection.refresh_token):
        mark_tokens_unreadable(connection.pk)
        return _UnreadableTokensClient(connection, **kwargs)
    return SalesforceClient(connection, token_refresher=refresh_access_token, **kwargs)


class _UnreadableTokensClient(SalesforceClient):
    def _send(self, method, path, **kwargs):
        raise NeedsReconnectError(f"Salesforce can't be called: {UNREADABLE_TOKENS}.", code="TOKENS_UNREADABLE")


def connection_tokens_readable(*, connection: SalesforceConnection) -> bool:
    """False (and the connection flipped to needs reconnect) when no configured key decrypts
    its tokens. Idempotent. For pages that show the connection's state, not hot paths."""
    if is_unreadable(connection.access_token) or is_unreadable(connection.refresh_token):
        mark_tokens_unreadable(connection.pk)
        connection.refresh_from_db(fields=["status", "last_error", "last_error_at"])
        return False
    return True


def connection_complete_oauth(
    *, workspace, user, environment: str, code: str, code_verifier: str, login_host: str = ""
) -> SalesforceConnection:
    """Exchange the callback's code for tokens (at the connect's own login host) and store the
    connection (connection_save_tokens). Raises SalesforceError subclasses for Salesforce
    failures; nothing is stored then."""
    client = OAuthClient(environment, login_host=login_host)
    token = protect_token(client.exchange_code(code=code, code_verifier=code_verifier))
    return connection_save_tokens(
        workspace=workspace, user=user, environment=environment, token=token, login_host=login_host
    )


def connection_save_tokens(
    *, workspace, user, environment: str, token: dict, login_host: str = "", fetch_users: str = "task"
) -> SalesforceConnection:
    """Read the identity, store the tokens (encrypted) and the login host, check permissions
    and read the org's name (one composite call), have the org's users cached, and replay any
    pushes that were waiting for a reconnect.

    `fetch_users="task"` (the OAuth callback) queues the org-user cache for a worker once this
    commits, so a large org never holds up the admin's request; "inline" fetches it here
    (scripts, tests). Connecting another org (or the other environment) replaces the previous
    connection: a workspace has one org, never two.
    """
    token = protect_token(token)
    identity = OAuthClient(environment, login_host=login_host).identity(
        identity_url=token["id"], access_token=token["access_token"]
    )
    with transaction.atomic():
        connection, _ = SalesforceConnection.objects.select_for_update().get_or_create(workspace=workspace)
        if connection.org_id and connection.org_id != identity["organization_id"]:
            _forget_previous_org(connection)
        connection.environment = environment
        connection.login_host = login_host
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
        # New tokens: a refresh still in flight with the old ones must not overwrite them.
        connection.token_version += 1
        connection.token_refresh_claim = ""  # nosec B105  # a refresh claim id, not a password
        connection.token_refresh_until = None
        connection.save()
    logger.info(
        "salesforce.connection.connected",
        extra={"connection_id": connection.pk, "environment": environment, "custom_login_host": bool(login_host)},
    )
    # Permissions first: a user without API access fails every other call, and that is
    # exactly what the admin must be told.
    try:
        connection_check_permissions(connection=connection)
    except SalesforceError as exc:
        _record_error(connection, f"Connected, but a first check failed: {exc.message}")
    if fetch_users == "inline":
        try:
            org_users_refresh(connection=connection)
        except SalesforceError as exc:
            _record_error(connection, f"Connected, but the Salesforce users could not be fetched: {exc.message}")
    else:
        transaction.on_commit(lambda: enqueue_org_users_refresh(connection.pk), robust=True)
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
    connection.org_name, connection.reads_all_events = "", None


def connection_disconnect(*, connection: SalesforceConnection) -> str:
    """Revoke the refresh token at Salesforce and delete the tokens here. Idempotent.
    Returns a warning for the admin when Salesforce could not confirm the revoke."""
    warning = ""
    if is_unreadable(connection.refresh_token):
        warning = (
            f"Workestra's token could not be revoked at Salesforce ({UNREADABLE_TOKENS}); it was deleted here. "
            "To be certain, revoke Workestra under Connected Apps OAuth Usage in Salesforce Setup."
        )
    elif connection.refresh_token:
        try:
            OAuthClient(connection.environment, login_host=connection.login_host).revoke(token=connection.refresh_token)
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
    """Ask Salesforce (one composite call: describes, the org's name, View All Data) what the
    connected user may do. Returns the missing permissions in plain words ([] when all is
    well) and stores them when they are for the connection's own scope and note type (a choice
    the admin only tried is not stored). Also stores the org's name and whether the user reads
    all Events, and while no admin has chosen a note type, picks the default one."""
    store = object_scope in (None, connection.object_scope) and note_type in (None, connection.note_type)
    object_scope = object_scope or connection.object_scope
    client = client_for(connection, enforce_budget=False)
    # Both kinds of note are described whatever the scope: the default note type depends on
    # whether ContentNote is createable, and a describe costs no extra call inside /composite.
    objects = ["Event", *READ_OBJECTS, *note_types.DESCRIBED]
    subrequests = [client.describe_subrequest(name, name) for name in objects] + [
        client.query_subrequest(ORG_REF, soql("SELECT Id, Name FROM Organization LIMIT 1")),
        client.query_subrequest(VIEW_ALL_REF, _view_all_data_soql(connection.sf_user_id)),
    ]
    try:
        responses = client.composite(subrequests)
    except PermanentError as exc:
        if exc.code in API_DISABLED_CODES:
            missing = [api_disabled_sentence(exc.code, connection.sf_username)]
            if store:
                _store_missing(connection, missing)
            return missing
        raise
    remember_usage(connection, client)
    by_ref = {response["referenceId"]: response for response in responses}
    _store_org_facts(connection, by_ref.pop(ORG_REF, None), by_ref.pop(VIEW_ALL_REF, None))
    describes: dict[str, dict] = {
        ref: (r.get("body") if r.get("httpStatusCode") == 200 else {}) or {} for ref, r in by_ref.items()
    }
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


ORG_REF, VIEW_ALL_REF = "Organization", "ViewAllData"
API_DISABLED_CODES = {"API_CURRENTLY_DISABLED", "API_DISABLED_FOR_ORG"}


def api_disabled_sentence(code: str, username: str) -> str:
    if code == "API_DISABLED_FOR_ORG":
        return (
            "API access for the org: this Salesforce edition or org has the API turned off "
            "(Professional Edition needs the API add-on). Ask Salesforce or your admin to enable it."
        )
    return f'API access: the profile of {username or "the connected user"} has no "API Enabled" permission.'


def _view_all_data_soql(sf_user_id: str) -> str:
    # Every profile is stored as a permission set assigned to its users, so one query over the
    # assignments covers the profile and any permission set granting View All Data.
    return soql(
        "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSet.PermissionsViewAllData = true LIMIT 1",
        sf_user_id,
    )


def _store_org_facts(connection: SalesforceConnection, org: dict | None, view_all: dict | None) -> None:
    """The org's name (shown instead of its id) and whether unknown outcomes can be reconciled
    (a user without View All Data may not see an Event another user owns). A failed subquery
    leaves what is known as it is (None = unknown)."""
    changes = {}
    if org and org.get("httpStatusCode") == 200 and org["body"].get("records"):
        changes["org_name"] = org["body"]["records"][0].get("Name") or ""
    if view_all and view_all.get("httpStatusCode") == 200:
        changes["reads_all_events"] = bool(view_all["body"].get("records"))
    if changes:
        SalesforceConnection.objects.filter(pk=connection.pk).update(**changes)
        for name, value in changes.items():
            setattr(connection, name, value)


def _store_missing(connection: SalesforceConnection, missing: list[str]) -> None:
    connection.missing_permissions = missing
    SalesforceConnection.objects.filter(pk=connection.pk).update(missing_permissions=missing)


def connection_update_settings(
    *,
    connection: SalesforceConnection,
    object_scope: str,
    cancel_behaviour: str,
    no_match_behaviour: str,
    note_type: str = "",
) -> SalesforceConnection:
    """Save the admin's choices. Raises PermissionsMissingError (nothing saved) when the
    connected user lacks what the chosen scope and note type need. A blank `note_type`
    keeps the current one (and leaves it to the default rule if no admin chose one)."""
    missing = connection_check_permissions(
        connection=connection, object_scope=object_scope, note_type=note_type or None
    )
    if missing:
        raise PermissionsMissingError(missing)
    connection.object_scope = object_scope
    connection.cancel_behaviour = cancel_behaviour
    connection.no_match_behaviour = no_match_behaviour
    if note_type:
        connection.note_type, connection.note_type_chosen = note_type, True
    connection.save(
        update_fields=[
            "object_scope",
            "cancel_behaviour",
            "no_match_behaviour",
            "note_type",
            "note_type_chosen",
            "updated_at",
        ]
    )
    _store_missing(connection, [])
    return connection


USER_FIELDS = ("username", "email", "name", "is_active", "fetched_at")
USER_BATCH = 500


def org_users_refresh(*, connection: SalesforceConnection) -> int:
    """Cache the org's active standard users: one query (a page per 2,000 users, so 3,000
    users cost 2 API calls), written with bulk upserts and one delete, whatever the org's size.
    Partner, community and Chatter users share emails with reps but can't own Events, so they
    are never mapping candidates. Idempotent. Returns how many users are cached."""
    client = client_for(connection, enforce_budget=False)
    records = client.query(
        soql(
            "SELECT Id, Username, Email, Name, IsActive FROM User WHERE IsActive = true AND UserType = 'Standard' ORDER BY Name"
        )
    )
    now = timezone.now()
    users = [
        SalesforceUser(
            connection=connection,
            sf_id=record["Id"],
            username=record.get("Username") or "",
            email=(record.get("Email") or "").lower(),
            name=record.get("Name") or "",
            is_active=True,
            fetched_at=now,
        )
        for record in records
    ]
    with transaction.atomic():
        SalesforceUser.objects.bulk_create(
            users,
            batch_size=USER_BATCH,
            update_conflicts=True,
            unique_fields=["connection", "sf_id"],
            update_fields=list(USER_FIELDS),
        )
        # Whoever this fetch did not see left the org, was deactivated or isn't standard.
        connection.org_users.filter(fetched_at__lt=now).delete()
        SalesforceConnection.objects.filter(pk=connection.pk).update(users_refreshed_at=now)
    remember_usage(connection, client)
    logger.info("salesforce.users.refreshed", extra={"connection_id": connection.pk, "count": len(users)})
    return len(users)


def enqueue_org_users_refresh(connection_id: int) -> bool:
    """Queue the org-user cache for a worker. False when the broker is unreachable: the daily
    beat refresh (or the mapping page's Refresh) fetches them later."""
    from .tasks import refresh_org_users

    try:
        refresh_org_users.apply_async(args=(connection_id,))
        return True
    except Exception:  # kombu raises transport-specific errors; any of them means "not queued"
        logger.warning("salesforce.users.enqueue_failed", extra={"connection_id": connection_id}, exc_info=True)
        return False


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
    setting, _ = LinkPushSetting.objects.update_or_create(
        link=link, defaults={"push_enabled": enabled, "updated_by": user}
    )
    return setting


def _record_error(connection: SalesforceConnection, message: str) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk).update(last_error=message, last_error_at=timezone.now())


def remember_usage(connection: SalesforceConnection, client: SalesforceClient) -> None:
    if client.usage is not None:
        SalesforceConnection.objects.filter(pk=connection.pk).update(
            api_usage_used=client.usage.used, api_usage_total=client.usage.total, api_usage_seen_at=timezone.now()
        )
