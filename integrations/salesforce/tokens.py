"""Access-token refresh, serialised per connection, with no lock held across the HTTP call.

Every booking insert takes a key-share lock on the connection row (the outbox row's foreign
key), so a row lock held while the token endpoint answers slowly would stall public booking.
Instead a refresh is three short steps:

1. claim: one UPDATE (its own autocommit transaction) sets a lease on the connection row,
   only if no other lease is live and `token_version` is still the one whose access token
   failed;
2. the token call, outside any transaction;
3. save: one UPDATE writes the new tokens (encrypted), bumps `token_version` and clears the
   lease, only if the lease is still ours and the version unchanged (compare-and-set).

Two workers that both hit a 401 with the same stale token make one token call: the second
cannot claim, waits for the lease to clear, and then finds a token newer than the one that
failed. A reconnect in between bumps the version too, so a late refresh never overwrites it.
"""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .client import OAuthClient
from .crypto import is_unreadable
from .errors import NeedsReconnectError, RetryableError
from .models import SalesforceConnection

logger = logging.getLogger("integrations.salesforce.tokens")
Status = SalesforceConnection.Status
POLL_SECONDS = 0.05
UNREADABLE_TOKENS = "the stored tokens can't be read with the configured keys"
TOKEN_FIELDS = ("access_token", "refresh_token")


def refresh_access_token(
    connection_id: int, failed_access_token: str, *, timeout: float | None = None, wait: bool = True
) -> str:
    """Return an access token newer than `failed_access_token`.

    `timeout` bounds the token call; `wait=False` gives up at once (RetryableError) when another
    process is refreshing, for callers on a deadline (routing lookups). Raises
    NeedsReconnectError (and flips the connection to needs reconnect) when Salesforce no longer
    accepts the refresh token or the stored tokens can't be decrypted; RetryableError when the
    token endpoint is unreachable. Holds no database lock or transaction while Salesforce answers.
    """
    timeout = timeout or settings.SALESFORCE_HTTP_TIMEOUT
    lease = timedelta(seconds=timeout + settings.SALESFORCE_TOKEN_LEASE_MARGIN_SECONDS)
    deadline = time.monotonic() + lease.total_seconds() * 2
    while True:
        connection = _current(connection_id)
        if connection.access_token and str(connection.access_token) != str(failed_access_token):
            return connection.access_token
        claim = _claim(connection, lease)
        if claim is not None:
            return _refresh_claimed(connection, claim, timeout=timeout)
        if not wait:
            raise RetryableError(
                "The Salesforce session is being refreshed by another request.", code="CONNECTION_ERROR"
            )
        if time.monotonic() > deadline:
            raise RetryableError(
                "Another refresh of the Salesforce session did not finish in time.", code="CONNECTION_ERROR"
            )
        time.sleep(POLL_SECONDS)


def _current(connection_id: int) -> SalesforceConnection:
    connection = SalesforceConnection.objects.get(pk=connection_id)
    if connection.status != Status.CONNECTED:
        raise NeedsReconnectError("The Salesforce connection needs to be reconnected.", code="NOT_CONNECTED")
    if any(is_unreadable(getattr(connection, name)) for name in TOKEN_FIELDS):
        mark_tokens_unreadable(connection_id)
        raise NeedsReconnectError(f"Salesforce can't be called: {UNREADABLE_TOKENS}.", code="TOKENS_UNREADABLE")
    return connection


def _claim(connection: SalesforceConnection, lease: timedelta) -> str | None:
    now = timezone.now()
    claim = uuid.uuid4().hex
    # One autocommit UPDATE: the row lock (and SQLite's write lock) lasts for this statement only.
    taken = (
        SalesforceConnection.objects.filter(
            pk=connection.pk, status=Status.CONNECTED, token_version=connection.token_version
        )
        .filter(Q(token_refresh_until__isnull=True) | Q(token_refresh_until__lt=now))
        .update(token_refresh_claim=claim, token_refresh_until=now + lease)
    )
    return claim if taken else None


def _refresh_claimed(connection: SalesforceConnection, claim: str, *, timeout: float) -> str:
    try:
        token = OAuthClient(connection.environment, login_host=connection.login_host, timeout=timeout).refresh(
            refresh_token=connection.refresh_token
        )
    except NeedsReconnectError as exc:
        _release(connection.pk, claim)
        mark_needs_reconnect(connection.pk, exc)
        raise
    except BaseException:
        _release(connection.pk, claim)
        raise
    return _save(connection, claim, token)


def _save(connection: SalesforceConnection, claim: str, token: dict) -> str:
    """Compare-and-set the new tokens. With refresh-token rotation the answer carries a new
    refresh token and the old one is dead, so it is stored in this same write."""
    changes = {
        "access_token": token["access_token"],
        "token_version": connection.token_version + 1,
        "token_refresh_claim": "",  # nosec B105  # a refresh claim id, not a password
        "token_refresh_until": None,  # nosec B105  # a lease expiry, not a password
        "last_refreshed_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if token.get("refresh_token"):
        changes["refresh_token"] = token["refresh_token"]
    # Orgs move between instances; the refresh answer names the current one.
    if token.get("instance_url"):
        changes["instance_url"] = token["instance_url"]
    saved = SalesforceConnection.objects.filter(
        pk=connection.pk, token_refresh_claim=claim, token_version=connection.token_version
    ).update(**changes)
    if not saved:
        # A reconnect (or an admin's disconnect) replaced the tokens while we asked: theirs win.
        logger.info("salesforce.token.refresh_superseded", extra={"connection_id": connection.pk})
        return _current(connection.pk).access_token
    logger.info(
        "salesforce.token.refreshed",
        extra={
            "connection_id": connection.pk,
            "rotated": bool(token.get("refresh_token")),
            "version": changes["token_version"],
        },
    )
    return token["access_token"]


def _release(connection_id: int, claim: str) -> None:
    SalesforceConnection.objects.filter(pk=connection_id, token_refresh_claim=claim).update(
        token_refresh_claim="",
        token_refresh_until=None,  # nosec B106  # a claim id and its expiry, not a password
    )


def mark_needs_reconnect(connection_id: int, exc: NeedsReconnectError) -> None:
    _flip(connection_id, f"Salesforce no longer accepts Workestra's access ({exc.message}). An admin must reconnect.")


def mark_tokens_unreadable(connection_id: int) -> None:
    """The tokens were encrypted with a key no longer in TOKEN_ENCRYPTION_KEYS: only a
    reconnect (new tokens under the current keys) or putting the old key back helps."""
    _flip(
        connection_id,
        f"Needs reconnect: {UNREADABLE_TOKENS}. Reconnect, or add the old key back to TOKEN_ENCRYPTION_KEYS.",
    )


def _flip(connection_id: int, reason: str) -> None:
    flipped = SalesforceConnection.objects.filter(pk=connection_id, status=Status.CONNECTED).update(
        status=Status.NEEDS_RECONNECT, last_error=reason, last_error_at=timezone.now(), updated_at=timezone.now()
    )
    if flipped:
        logger.warning("salesforce.connection.needs_reconnect", extra={"connection_id": connection_id})
