"""POST /api/notetaker/recaps/: signature, validation, idempotency, and the outbox row it writes."""

import json

import pytest

from integrations.salesforce.models import SalesforceConnection, SyncOperation
from notetaker.models import SUMMARY_MAX_CHARS, ActionItem, Recap, RecapDelivery
from notetaker.webhook import sign
from tests.notetaker.recap_support import SECRET, URL, make_connection, post_recap, recap_payload

pytestmark = pytest.mark.django_db


def assert_nothing_stored():
    assert Recap.objects.count() == 0
    assert ActionItem.objects.count() == 0
    assert RecapDelivery.objects.count() == 0
    assert SyncOperation.objects.count() == 0


# --- signature ----------------------------------------------------------------------------------


def test_a_signed_delivery_is_stored_and_answered_201(client, booking):
    response = post_recap(client, recap_payload(booking), key="delivery-1")

    assert response.status_code == 201
    recap = Recap.objects.get(booking=booking)
    assert response.json() == {
        "recap_id": recap.pk,
        "booking_uid": booking.uid,
        "created": True,
        "changed": True,
        "action_items": 2,
        "salesforce": "not_queued",
    }
    assert recap.summary == "Jane wants the renewal quote before Friday."
    assert recap.source == Recap.Source.WEBHOOK
    items = [(i.position, i.text, i.assignee, i.due_date and i.due_date.isoformat()) for i in recap.action_items.all()]
    assert items == [(0, "Send the renewal quote", "Mia Member", "2026-04-03"), (1, "Book a follow-up", "", None)]


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,
        "sha256=deadbeef",
        "not-even-the-format",
        "",
    ],
)
def test_a_wrong_signature_is_refused_and_nothing_is_stored(client, booking, signature):
    response = post_recap(client, recap_payload(booking), signature=signature)

    assert response.status_code in (401, 403)
    assert "error" in response.json()
    assert_nothing_stored()


def test_a_signature_made_with_another_secret_is_403(client, booking):
    make_connection(booking.workspace)
    response = post_recap(client, recap_payload(booking), secret="someone-elses-secret")

    assert response.status_code == 403
    assert "X-Workestra-Signature" in response.json()["error"]
    assert_nothing_stored()


def test_a_signature_of_another_body_is_403(client, booking):
    body = json.dumps(recap_payload(booking)).encode()
    tampered = body.replace(b"Friday", b"Monday")

    response = post_recap(client, raw=tampered, signature=sign(body, SECRET))

    assert response.status_code == 403
    assert_nothing_stored()


def test_a_missing_signature_is_401(client, booking):
    response = post_recap(client, recap_payload(booking), signature=None)

    assert response.status_code == 401
    assert response.json() == {"error": "Missing X-Workestra-Signature header."}
    assert_nothing_stored()


def test_without_a_configured_secret_nothing_is_accepted_even_signed(client, booking, settings):
    settings.NOTETAKER_WEBHOOK_SECRET = ""

    for signature in (sign(json.dumps(recap_payload(booking)).encode(), ""), None):
        response = post_recap(client, recap_payload(booking), signature=signature)
        assert response.status_code == 503
        assert "NOTETAKER_WEBHOOK_SECRET" in response.json()["error"]
    assert_nothing_stored()


def test_only_post_is_allowed(client, booking):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "Use POST."}


# --- idempotency ----------------------------------------------------------------------------------


def test_the_same_delivery_twice_stores_one_recap_and_answers_the_same(client, booking):
    make_connection(booking.workspace)
    first = post_recap(client, recap_payload(booking), key="delivery-1")
    again = post_recap(client, recap_payload(booking), key="delivery-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.content == first.content  # byte for byte
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Recap.objects.count() == 1
    assert ActionItem.objects.count() == 2
    assert RecapDelivery.objects.count() == 1
    assert SyncOperation.objects.filter(kind=SyncOperation.Kind.RECAP).count() == 1


@pytest.mark.parametrize(
    "extra", [{"recap_id": "rec_123"}, {"recap_id": 123}, {}], ids=["recap_id", "numeric recap_id", "no key"]
)
def test_a_redelivered_body_without_a_header_key_is_a_replay_too(client, booking, extra):
    first = post_recap(client, recap_payload(booking, **extra))
    again = post_recap(client, recap_payload(booking, **extra))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Recap.objects.count() == 1 and ActionItem.objects.count() == 2


def test_an_idempotency_key_reused_for_another_body_is_422_and_changes_nothing(client, booking):
    post_recap(client, recap_payload(booking), key="delivery-1")

    response = post_recap(client, recap_payload(booking, summary="Something else entirely."), key="delivery-1")

    assert response.status_code == 422
    assert "different body" in response.json()["error"]
    assert Recap.objects.get().summary == "Jane wants the renewal quote before Friday."


def test_a_newer_delivery_updates_the_recap_and_queues_another_push(client, booking):
    make_connection(booking.workspace)
    post_recap(client, recap_payload(booking), key="delivery-1")
    first_change = Recap.objects.get().content_changed_at
    newer = recap_payload(booking, summary="Revised: Jane needs the quote by Thursday.")
    newer["action_items"] = [{"text": "Send the quote by Thursday", "assignee": "Alice", "due_date": "2026-04-02"}]

    response = post_recap(client, newer, key="delivery-2")

    assert response.status_code == 200
    assert response.json()["created"] is False and response.json()["changed"] is True
    recap = Recap.objects.get()
    assert recap.summary == "Revised: Jane needs the quote by Thursday."
    assert [(i.text, i.assignee, str(i.due_date)) for i in recap.action_items.all()] == [
        ("Send the quote by Thursday", "Alice", "2026-04-02")
    ]
    assert recap.content_changed_at > first_change
    assert SyncOperation.objects.filter(kind=SyncOperation.Kind.RECAP).count() == 2


def test_a_body_the_booking_already_received_is_a_replay_whatever_its_key(client, booking):
    make_connection(booking.workspace)
    first = post_recap(client, recap_payload(booking), key="delivery-1")

    response = post_recap(client, recap_payload(booking), key="delivery-2")

    assert response.status_code == 200 and response.headers["Idempotent-Replayed"] == "true"
    assert response.content == first.content
    assert SyncOperation.objects.filter(kind=SyncOperation.Kind.RECAP).count() == 1


# --- what is refused -------------------------------------------------------------------------------


def test_an_unknown_booking_is_404_and_nothing_is_stored(client, booking):
    payload = recap_payload(booking)
    payload["booking_uid"] = "NoSuchBooking123"

    response = post_recap(client, payload)

    assert response.status_code == 404
    assert response.json() == {"error": "No booking has this booking_uid."}
    assert_nothing_stored()


MALFORMED = {
    "not json": (b"this is not json", "not valid JSON"),
    "invalid utf-8": (b'{"summary": "\xff"}', "not valid JSON"),
    "a list": (b"[1, 2]", "must be a JSON object"),
    "no booking_uid": ({"summary": "Hi"}, "booking_uid is required"),
    "numeric booking_uid": ({"booking_uid": 42, "summary": "Hi"}, "booking_uid is required"),
    "no summary": ({"booking_uid": "@uid"}, "summary is required"),
    "null summary": ({"booking_uid": "@uid", "summary": None}, "summary must be a string"),
    "numeric summary": ({"booking_uid": "@uid", "summary": 12}, "summary must be a string"),
    "blank summary": ({"booking_uid": "@uid", "summary": "  \n "}, "summary must not be empty"),
    "NUL in summary": ({"booking_uid": "@uid", "summary": "a\u0000b"}, "NUL"),
    "lone surrogate": (b'{"booking_uid": "@uid", "summary": "bad \\ud800 char"}', "lone surrogate"),
    "action_items not a list": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": "call Jane"},
        "action_items must be a list",
    ),
    "action item not an object": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": ["call Jane"]},
        "action_items[0] must be an object",
    ),
    "action item without text": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"assignee": "Al"}]},
        "action_items[0].text is required",
    ),
    "numeric assignee": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": "x", "assignee": 5}]},
        "action_items[0].assignee must be",
    ),
    "impossible due date": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": "x", "due_date": "2026-13-01"}]},
        "not a date as YYYY-MM-DD",
    ),
    "due date in words": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": "x", "due_date": "tomorrow"}]},
        "not a date as YYYY-MM-DD",
    ),
    "due date with a time": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": "x", "due_date": "2026-04-03T10:00"}]},
        "not a date",
    ),
    "numeric due date": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": "x", "due_date": 20260403}]},
        "due_date must be a date",
    ),
    "too many action items": (
        {"booking_uid": "@uid", "summary": "Hi", "action_items": [{"text": f"item {n}"} for n in range(101)]},
        "101 items; the limit is 100",
    ),
    "object recap_id": ({"booking_uid": "@uid", "summary": "Hi", "recap_id": {"id": 1}}, "recap_id must be"),
    "summary over the limit": (
        {"booking_uid": "@uid", "summary": "x" * (SUMMARY_MAX_CHARS + 1)},
        "the limit is 100,000",
    ),
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_is_400_saying_what_is_wrong(client, booking, case):
    make_connection(booking.workspace)
    body, expected = case
    if isinstance(body, dict):
        body = json.dumps({k: (booking.uid if v == "@uid" else v) for k, v in body.items()}).encode()
    body = body.replace(b"@uid", booking.uid.encode())

    response = post_recap(client, raw=body)

    assert response.status_code == 400
    assert expected in response.json()["error"]
    assert_nothing_stored()


def test_a_summary_at_the_limit_is_stored_whole(client, booking):
    summary = "é" * (SUMMARY_MAX_CHARS - 1) + "!"

    response = post_recap(client, recap_payload(booking, summary=summary))

    assert response.status_code == 201
    assert Recap.objects.get().summary == summary


def test_an_oversized_request_is_413(client, booking, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = post_recap(client, recap_payload(booking, summary="x" * 5_000))

    assert response.status_code == 413
    assert_nothing_stored()


def test_unicode_and_html_are_stored_as_sent(client, booking):
    summary = '<script>alert("x")</script> <b>Zoë</b> & 日本語 — “quotes” 🚀\nline two'
    payload = recap_payload(booking, summary=summary)
    payload["action_items"] = [
        {"text": "<img src=x onerror=alert(1)> call Zoë", "assignee": "Ünal <ops>", "due_date": None}
    ]

    assert post_recap(client, payload).status_code == 201

    recap = Recap.objects.get()
    assert recap.summary == summary
    assert recap.action_items.get().text == "<img src=x onerror=alert(1)> call Zoë"
    assert recap.action_items.get().assignee == "Ünal <ops>"


# --- the outbox row ---------------------------------------------------------------------------------


def test_with_events_and_notes_the_recap_is_queued_in_the_same_write(client, booking):
    connection = make_connection(booking.workspace)

    response = post_recap(client, recap_payload(booking))

    assert response.json()["salesforce"] == "queued"
    op = SyncOperation.objects.get()
    assert (op.kind, op.trigger, op.state, op.booking_id, op.connection_id) == (
        SyncOperation.Kind.RECAP,
        SyncOperation.Trigger.RECAP,
        SyncOperation.State.PENDING,
        booking.pk,
        connection.pk,
    )


def test_with_events_only_no_row_is_written(client, booking):
    make_connection(booking.workspace, scope=SalesforceConnection.ObjectScope.EVENTS)

    response = post_recap(client, recap_payload(booking))

    assert response.status_code == 201
    assert response.json()["salesforce"] == "not_queued"
    assert Recap.objects.count() == 1
    assert SyncOperation.objects.count() == 0


def test_while_salesforce_needs_reconnect_the_push_waits(client, booking):
    make_connection(booking.workspace, status=SalesforceConnection.Status.NEEDS_RECONNECT)

    response = post_recap(client, recap_payload(booking))

    assert response.json()["salesforce"] == "waiting_reconnect"
    assert SyncOperation.objects.get().state == SyncOperation.State.WAITING_RECONNECT


# --- races --------------------------------------------------------------------------------------------


def post_concurrently(payloads_and_keys):
    """POST each (payload, key) from its own thread and database connection, all at once."""
    import threading

    from django.db import connection
    from django.test import Client

    barrier = threading.Barrier(len(payloads_and_keys))
    responses = [None] * len(payloads_and_keys)

    def deliver(n, payload, key):
        try:
            barrier.wait()
            responses[n] = post_recap(Client(), payload, key=key)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(n, p, k)) for n, (p, k) in enumerate(payloads_and_keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_delivery_at_once_store_one_recap(booking):
    make_connection(booking.workspace)

    responses = post_concurrently([(recap_payload(booking), "same-delivery")] * 2)

    assert sorted(r.status_code for r in responses) == [200, 201]
    assert responses[0].content == responses[1].content
    assert Recap.objects.count() == 1 and ActionItem.objects.count() == 2 and RecapDelivery.objects.count() == 1
    assert SyncOperation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_different_first_deliveries_at_once_make_one_recap_then_an_update(booking):
    newer = recap_payload(booking, summary="The other delivery.")

    responses = post_concurrently([(recap_payload(booking), "delivery-a"), (newer, "delivery-b")])

    assert sorted(r.status_code for r in responses) == [200, 201]
    assert Recap.objects.count() == 1 and RecapDelivery.objects.count() == 2
    assert ActionItem.objects.count() == 2


@pytest.mark.parametrize(
    "signature, problem",
    [
        ("sha256=deadbeef", "after 'sha256=' come 8 characters; expected 64 hex digits (0-9, a-f)."),
        ("not-even-the-format", "it must start with 'sha256=', then 64 hex digits."),
        ("sha256=" + "A" * 64, "after 'sha256=' come 64 characters; expected 64 hex digits (0-9, a-f)."),
    ],
)
def test_a_malformed_signature_is_401_saying_what_is_malformed(client, booking, signature, problem):
    response = post_recap(client, recap_payload(booking), signature=signature)

    assert response.status_code == 401
    assert response.json() == {"error": f"Malformed X-Workestra-Signature header: {problem}"}
    assert_nothing_stored()


def test_a_signature_with_a_line_break_is_named_as_such():
    from notetaker.webhook import WebhookError, verify_signature

    with pytest.raises(WebhookError) as caught:
        verify_signature(b"{}", "sha256=" + "0" * 64 + "\nX-Other: 1", SECRET)

    assert (caught.value.status, caught.value.message) == (
        401,
        "Malformed X-Workestra-Signature header: it contains a line break; send one line, sha256=<64 hex digits>.",
    )


def test_no_signature_and_no_body_says_the_headers_ended_early(client):
    response = client.post(URL, data=b"", content_type="application/json")

    assert response.status_code == 401
    assert response.json()["error"].startswith("Missing X-Workestra-Signature header, and the body is empty")
    assert "line break" in response.json()["error"]
