"""Access-token refresh, serialised per connection.

Two workers that both hit a 401 with the same stale token must not both call the token
endpoint: the connection row is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
IMMEDIATE transaction takes the write lock), and whoever comes second finds a token that
differs from the one that failed and uses it.
"""
import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from .client import OAuthClient
from .errors import NeedsReconnectError, RetryableError
from .models import SalesforceConnection

logger = logging.getLogger("integrations.salesforce.tokens")


def refresh_access_token(
    connection_id: int, failed_access_token: str, *, timeout: float | None = None, wait: bool = True
) -> str:
    """Return an access token newer than `failed_access_token`.

    `timeout` bounds the token call; `wait=False` gives up at once (RetryableError) when another
    process holds the refresh lock, for callers on a deadline (routing lookups; PostgreSQL only,
    SQLite always waits). Raises NeedsReconnectError (and flips the connection to needs
    reconnect) when Salesforce no longer accepts the refresh token; RetryableError when the
    token endpoint is unreachable.
    """
    try:
        return _refresh_locked(connection_id, failed_access_token, timeout=timeout, wait=wait)
    except DatabaseError:
        if wait:
            raise
        raise RetryableError("The Salesforce session is being refreshed by another request.", code="CONNECTION_ERROR") from None


def _refresh_locked(connection_id: int, failed_access_token: str, *, timeout: float | None, wait: bool) -> str:
    with transaction.atomic():
        connection = SalesforceConnection.objects.select_for_update(nowait=not wait).get(pk=connection_id)
        if connection.status != SalesforceConnection.Status.CONNECTED:
            raise NeedsReconnectError("The Salesforce connection needs to be reconnected.", code="NOT_CONNECTED")
        if connection.access_token and connection.access_token != failed_access_token:
            return connection.access_token
        try:
            token = OAuthClient(connection.environment, timeout=timeout).refresh(refresh_token=connection.refresh_token)
        except NeedsReconnectError as exc:
            rejected = exc
        else:
            connection.access_token = token["access_token"]
            if token.get("instance_url"):
                connection.instance_url = token["instance_url"]
            connection.last_refreshed_at = timezone.now()
            connection.save(update_fields=["access_token", "instance_url", "last_refreshed_at", "updated_at"])
            logger.info("salesforce.token.refreshed", extra={"connection_id": connection.pk})
            return connection.access_token
    # Outside the locked transaction, so the status change commits although we raise.
    _mark_needs_reconnect(connection_id, rejected)
    raise rejected


def _mark_needs_reconnect(connection_id: int, exc: NeedsReconnectError) -> None:
    SalesforceConnection.objects.filter(pk=connection_id, status=SalesforceConnection.Status.CONNECTED).update(
        status=SalesforceConnection.Status.NEEDS_RECONNECT,
        last_error=f"Salesforce no longer accepts Workestra's access ({exc.message}). An admin must reconnect.",
        last_error_at=timezone.now(),
        updated_at=timezone.now(),
    )
    logger.warning("salesforce.connection.needs_reconnect", extra={"connection_id": connection_id})
