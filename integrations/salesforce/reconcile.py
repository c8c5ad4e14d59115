"""After an unknown outcome: when a create may be sent again (Events and Notes alike).

A create whose answer never came may still commit: Salesforce keeps running a request after
the client gave up (lock waits, triggers, flows), for as long as the request's own lifetime.
Until that lifetime has surely passed, a reconcile that finds nothing proves nothing, so a
retry only looks (query) and never creates. Salesforce offers no idempotency key for sObject
creates, and an upsert on an external id would need a custom field (SPEC §3 writes only
standard fields), so waiting out the window is the mechanism.

`SALESFORCE_RECONCILE_WINDOW_SECONDS` (default 900): the REST API timeout is 10 minutes
("API Request Limits and Allocations": "The timeout limit for REST and SOAP API calls is 10
minutes"; composite batches time out at 10 minutes too), plus 5 minutes of margin for the
request's time in transit and queues and for the clocks of Workestra's hosts.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def window() -> timedelta:
    return timedelta(seconds=settings.SALESFORCE_RECONCILE_WINDOW_SECONDS)


def window_ends_at(sent_at: datetime) -> datetime:
    """When a create sent at `sent_at` can no longer commit."""
    return sent_at + window()


def may_create_again(sent_at: datetime, *, now: datetime | None = None) -> bool:
    """True once a create sent at `sent_at` without a known outcome can no longer commit,
    so a reconcile that finds nothing means it was not applied. Pure; no I/O."""
    return (now or timezone.now()) >= window_ends_at(sent_at)


def waiting_message(sent_at: datetime, record: str = "Event") -> str:
    """The outcome text of a retry that only looked, for the sync record and the admin."""
    return (
        f"An earlier create got no answer from Salesforce and may still commit; no {record} has "
        f"appeared yet. Workestra only looks for it (never creates a second) until "
        f"{window_ends_at(sent_at):%Y-%m-%d %H:%M:%S} UTC, when Salesforce's request lifetime "
        f"has surely passed."
    )
