"""Helpers for the recap tests: deliveries as the notetaker signs them, a bare connection row."""

import json

from integrations.salesforce.models import SalesforceConnection
from notetaker.webhook import sign

SECRET = "test-notetaker-secret"
URL = "/api/notetaker/recaps/"


def recap_payload(booking, summary="Jane wants the renewal quote before Friday.", **extra) -> dict:
    return {
        "booking_uid": booking.uid,
        "summary": summary,
        "action_items": [
            {"text": "Send the renewal quote", "assignee": "Mia Member", "due_date": "2026-04-03"},
            {"text": "Book a follow-up", "assignee": None, "due_date": None},
        ],
        **extra,
    }


def post_recap(
    client,
    payload=None,
    *,
    raw: bytes | None = None,
    key: str | None = None,
    signature: str | None = "sign",
    secret: str = SECRET,
):
    """POST a delivery as the notetaker does: the raw body signed with the secret (or the
    `signature` given; None sends no signature header)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature == "sign":
        headers["HTTP_X_WORKESTRA_SIGNATURE"] = sign(body, secret)
    elif signature is not None:
        headers["HTTP_X_WORKESTRA_SIGNATURE"] = signature
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(URL, data=body, content_type="application/json", **headers)


def make_connection(
    workspace, *, scope=SalesforceConnection.ObjectScope.EVENTS_AND_NOTES, status=SalesforceConnection.Status.CONNECTED
):
    """A connection row without an org behind it (for tests that never reach Salesforce)."""
    return SalesforceConnection.objects.create(
        workspace=workspace,
        status=status,
        object_scope=scope,
        instance_url="https://127.0.0.1:1",
        sf_user_id="005000000000001AAA",
    )
