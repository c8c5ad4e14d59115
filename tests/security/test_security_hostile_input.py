"""Hostile input on every public form: booking, reschedule, cancel, routing form, and the
notetaker webhook (signed, so only its content is hostile).

For every value: never a 500; either rejected with a message (status 400, the error alert) or
accepted within the field's bounds; and wherever an accepted value is shown later (booking
page, host calendar, submissions page, recap pages, the admin) it is escaped.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from bookings.availability import link_free_slots
from bookings.models import Booking
from integrations.salesforce.models import SyncOperation
from notetaker.webhook import sign
from routing.models import Submission
from tests.security.security_support import (
    ADMIN,
    ANON,
    BIG,
    MALFORMED_STARTS,
    NUL,
    OWNER,
    SOQL_META,
    STAFF,
    UNICODE,
    WEBHOOK_SECRET,
    XSS_ATTR,
    XSS_SCRIPT,
    assert_no_raw_markup,
    body,
    db_snapshot,
)

ERROR_ALERT = 'class="alert alert-error"'
ACCEPT, REJECT = "accept", "reject"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def post(world, role, url, data):
    client, token = world.client(role)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def assert_rejected(response, before, where):
    assert response.status_code == 400, f"{where}: {response.status_code}"
    assert ERROR_ALERT in body(response), f"{where}: refused without a message"
    assert_no_raw_markup(body(response), where)
    assert db_snapshot() == before, f"{where}: a refused request changed the database"


def rendered_everywhere(world, pages) -> None:
    """GET each (role, url); all must answer 200 with nothing unescaped."""
    for role, url in pages:
        client, _ = world.client(role)
        response = client.get(url)
        assert response.status_code == 200, f"{url} as {role}: {response.status_code}"
        assert_no_raw_markup(body(response), f"{url} as {role}")


def booking_pages(world, booking) -> list:
    return [
        (ANON, booking.get_absolute_url()),
        (OWNER, booking.get_absolute_url()),
        (OWNER, reverse("bookings:calendar")),
        (ADMIN, reverse("bookings:calendar") + "?all=1"),
        (STAFF, reverse("admin:bookings_booking_changelist")),
        (STAFF, reverse("admin:bookings_booking_changelist") + "?q=" + booking.invitee_email[:20]),
        (STAFF, reverse("admin:bookings_booking_change", args=[booking.pk])),
    ]


# ---- public booking -------------------------------------------------------------------------------
BOOK_CASES = [
    ("name", SOQL_META, ACCEPT),
    ("name", XSS_SCRIPT, ACCEPT),
    ("name", XSS_ATTR, ACCEPT),
    ("name", UNICODE, ACCEPT),
    ("name", BIG, REJECT),
    ("name", NUL, REJECT),
    ("name", "   ", REJECT),
    ("email", "o'brien%_x@example.com", ACCEPT),
    ("email", "x'OR'1'='1@example.com", ACCEPT),
    ("email", XSS_ATTR + "@example.com", REJECT),
    ("email", XSS_SCRIPT, REJECT),
    ("email", "a@" + "b" * 100_000 + ".com", REJECT),
    ("email", "nul\x00@example.com", REJECT),
    ("email", UNICODE + "@example.com", REJECT),
    *[("start", value, REJECT) for value in MALFORMED_STARTS],
    ("start", BIG, REJECT),
]


@pytest.mark.parametrize("field,value,outcome", BOOK_CASES, ids=[f"{f}-{n}" for n, (f, _, _) in enumerate(BOOK_CASES)])
def test_public_booking(world, field, value, outcome):
    url = reverse("bookings:book", kwargs={"workspace_slug": world.workspace.slug, "link_slug": world.link.slug})
    data = {
        "name": "Ivy Invitee",
        "email": "ivy@example.com",
        "start": link_free_slots(world.link)[0].isoformat(),
        field: value,
    }
    before = db_snapshot()

    response = post(world, ANON, url, data)

    if outcome == REJECT:
        assert_rejected(response, before, f"book {field}={value[:40]!r}")
        return
    assert response.status_code == 302, body(response)[:300]
    booking = Booking.objects.exclude(pk=world.booking.pk).get()
    assert getattr(booking, "invitee_name" if field == "name" else "invitee_email") == value.strip()
    rendered_everywhere(world, booking_pages(world, booking))
    if value == XSS_SCRIPT:
        assert ESCAPED_SCRIPT in body(Client().get(booking.get_absolute_url()))


@pytest.mark.parametrize(
    "query", [{"tz": XSS_ATTR}, {"tz": BIG[:5000]}, {"name": XSS_SCRIPT, "email": XSS_ATTR}, {"x": XSS_ATTR}]
)
def test_booking_page_query_parameters_are_escaped(world, query):
    url = reverse("bookings:book", kwargs={"workspace_slug": world.workspace.slug, "link_slug": world.link.slug})
    response = Client().get(url, query)
    assert response.status_code == 200
    assert_no_raw_markup(body(response), f"book page with {list(query)}")
    detail = Client().get(world.booking.get_absolute_url(), query)
    assert detail.status_code == 200
    assert_no_raw_markup(body(detail), f"booking page with {list(query)}")


# ---- reschedule and cancel ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "start", [*MALFORMED_STARTS, BIG], ids=[f"start-{n}" for n in range(len(MALFORMED_STARTS) + 1)]
)
def test_reschedule_with_a_malformed_start(world, start):
    before = db_snapshot()
    response = post(
        world, ANON, reverse("bookings:booking_reschedule", kwargs={"uid": world.booking.uid}), {"start": start}
    )
    assert_rejected(response, before, f"reschedule start={start[:40]!r}")


CANCEL_CASES = [
    (XSS_SCRIPT, ACCEPT),
    (XSS_ATTR, ACCEPT),
    (SOQL_META, ACCEPT),
    (UNICODE, ACCEPT),
    (BIG, REJECT),
    (NUL, REJECT),
]


@pytest.mark.parametrize("reason,outcome", CANCEL_CASES, ids=[f"reason-{n}" for n in range(len(CANCEL_CASES))])
def test_cancel_reason(world, reason, outcome):
    before = db_snapshot()
    response = post(
        world, ANON, reverse("bookings:booking_cancel", kwargs={"uid": world.booking.uid}), {"reason": reason}
    )
    if outcome == REJECT:
        assert_rejected(response, before, f"cancel reason={reason[:40]!r}")
        world.booking.refresh_from_db()
        assert world.booking.status == Booking.Status.CONFIRMED
        return
    assert response.status_code == 302
    world.booking.refresh_from_db()
    assert world.booking.cancel_reason == reason.strip()
    rendered_everywhere(world, booking_pages(world, world.booking))


# ---- routing form -----------------------------------------------------------------------------------------
FORM_CASES = [
    ("name", XSS_SCRIPT, ACCEPT),
    ("name", XSS_ATTR, ACCEPT),
    ("name", SOQL_META, ACCEPT),
    ("name", UNICODE, ACCEPT),
    ("name", BIG, REJECT),
    ("name", NUL, REJECT),
    ("company", XSS_SCRIPT, ACCEPT),
    ("company", BIG, REJECT),
    ("email", "x'OR'1'='1@example.com", ACCEPT),
    ("email", XSS_ATTR + "@example.com", REJECT),
    ("email", XSS_SCRIPT, REJECT),
    ("email", "a@" + "b" * 100_000 + ".com", REJECT),
    ("email", "nul\x00@example.com", REJECT),
]


@pytest.mark.parametrize("field,value,outcome", FORM_CASES, ids=[f"{f}-{n}" for n, (f, _, _) in enumerate(FORM_CASES)])
def test_routing_form(world, field, value, outcome):
    url = reverse("routing:public_form", kwargs={"workspace_slug": world.workspace.slug, "form_slug": world.form.slug})
    data = {"name": "Ivy", "email": "ivy@example.com", "company": "Initech", field: value}
    before = db_snapshot()

    response = post(world, ANON, url, data)

    if outcome == REJECT:
        assert_rejected(response, before, f"routing form {field}={value[:40]!r}")
        return
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.answers[field] == value.strip()
    # The invitee lands on the booking page prefilled from the answers.
    landing = Client().get(response["Location"])
    assert landing.status_code == 200
    assert_no_raw_markup(body(landing), "the booking page prefilled by the routing form")
    rendered_everywhere(
        world,
        [
            (ADMIN, reverse("routing:form_submissions", kwargs={"form_id": world.form.pk})),
            (STAFF, reverse("admin:routing_submission_changelist")),
            (STAFF, reverse("admin:routing_submission_change", args=[submission.pk])),
        ],
    )


def test_a_long_name_answer_fits_the_recorded_destination(world):
    url = reverse("routing:public_form", kwargs={"workspace_slug": world.workspace.slug, "form_slug": world.form.slug})
    client, token = world.client(ANON)
    client.raise_request_exception = False

    response = client.post(url, {"name": "😀" * 500, "email": "ivy@example.com", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    limit = Submission._meta.get_field("destination").max_length
    assert all(len(s.destination) <= limit for s in Submission.objects.all())


# ---- the notetaker webhook (signed; hostile content) -----------------------------------------------------------
def deliver(world, payload=None, raw: bytes | None = None):
    body_bytes = raw if raw is not None else json.dumps(payload).encode()
    client = Client()
    client.raise_request_exception = False
    return client.post(
        reverse("notetaker:recap_webhook"),
        data=body_bytes,
        content_type="application/json",
        HTTP_X_WORKESTRA_SIGNATURE=sign(body_bytes, WEBHOOK_SECRET),
    )


WEBHOOK_CASES = [
    ({"summary": XSS_SCRIPT, "action_items": [{"text": XSS_ATTR, "assignee": XSS_SCRIPT}]}, ACCEPT),
    ({"summary": SOQL_META, "action_items": [{"text": SOQL_META}]}, ACCEPT),
    ({"summary": UNICODE}, ACCEPT),
    ({"summary": "A" * 100_001}, REJECT),
    ({"summary": NUL}, REJECT),
    ({"summary": "\ud800 lone surrogate"}, REJECT),
    ({"summary": "ok", "action_items": [{"text": "x", "due_date": "2025-02-30"}]}, REJECT),
    ({"summary": "ok", "action_items": [{"text": "x", "due_date": "２０２５-01-01"}]}, REJECT),
    ({"summary": "ok", "action_items": [{"text": "x", "due_date": XSS_ATTR}]}, REJECT),
    ({"summary": "ok", "action_items": [{"text": "x"}] * 101}, REJECT),
    ({"summary": "ok", "action_items": [{"text": "y" * 2001}]}, REJECT),
    ({"summary": ["not", "a", "string"]}, REJECT),
    ({"summary": "ok", "recap_id": "r" * 201}, REJECT),
]


@pytest.mark.parametrize("fields,outcome", WEBHOOK_CASES, ids=[f"webhook-{n}" for n in range(len(WEBHOOK_CASES))])
def test_notetaker_webhook_content(world, fields, outcome):
    before = db_snapshot()

    response = deliver(world, {"booking_uid": world.booking.uid, **fields})

    if outcome == REJECT:
        assert response.status_code == 400, response.status_code
        assert response.json()["error"]
        assert db_snapshot() == before
        return
    assert response.status_code == 200 and response.json()["changed"] is True
    world.recap.refresh_from_db()
    assert world.recap.summary == fields["summary"]
    rendered_everywhere(
        world,
        [
            (OWNER, world.booking.get_absolute_url()),
            (OWNER, reverse("notetaker:recap_edit", kwargs={"uid": world.booking.uid})),
            (ADMIN, world.booking.get_absolute_url()),
            (STAFF, reverse("admin:notetaker_recap_changelist")),
            (STAFF, reverse("admin:notetaker_recap_change", args=[world.recap.pk])),
        ],
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"a string"',
        b"\xff\xfe",
        b'{"booking_uid": 1, "summary": "x"}',
        b'{"booking_uid": "nope", "summary": "x"}',
        b'{"booking_uid": "' + b"u" * 10_000 + b'", "summary": "x"}',
        b'{"summary": 1' + b"0" * 5000 + b"}",
    ],
    ids=["empty", "not-json", "list", "string", "bad-utf8", "uid-int", "unknown-uid", "huge-uid", "huge-int"],
)
def test_notetaker_webhook_malformed_bodies(world, raw):
    before = db_snapshot()
    response = deliver(world, raw=raw)
    assert response.status_code in (400, 404), response.status_code
    assert response.json()["error"]
    assert db_snapshot() == before


def test_notetaker_webhook_deeply_nested_json_is_a_400(world):
    response = deliver(world, raw=b'{"booking_uid": "x", "summary": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert response.status_code == 400


def test_a_captured_delivery_replayed_under_a_new_key_changes_nothing(world):
    old = json.dumps({"booking_uid": world.booking.uid, "summary": "Old summary"}).encode()
    new = json.dumps({"booking_uid": world.booking.uid, "summary": "Newer summary"}).encode()
    client = Client()
    for body_bytes, key in ((old, "delivery-1"), (new, "delivery-2")):
        response = client.post(
            reverse("notetaker:recap_webhook"),
            data=body_bytes,
            content_type="application/json",
            HTTP_X_WORKESTRA_SIGNATURE=sign(body_bytes, WEBHOOK_SECRET),
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code in (200, 201)

    # An eavesdropper (a proxy log, a leaked request dump) re-sends the first delivery.
    client.post(
        reverse("notetaker:recap_webhook"),
        data=old,
        content_type="application/json",
        HTTP_X_WORKESTRA_SIGNATURE=sign(old, WEBHOOK_SECRET),
        HTTP_IDEMPOTENCY_KEY="attacker-chosen",
    )

    world.recap.refresh_from_db()
    assert world.recap.summary == "Newer summary"


# ---- SOQL metacharacters reach Salesforce only as escaped literals (end to end) ---------------------------------
@pytest.mark.django_db
@pytest.mark.emulator
def test_soql_metacharacters_in_an_invitee_email_are_escaped_end_to_end(team, sfdc_emulator):
    """Valid emails may contain ' % _ =: booking with them must push an Event without a match
    (not a malformed query, not a match of every record)."""
    emails = ["x'OR'1'='1@example.com", "o'brien%_x@example.com", "jane.roe'--@globex.com"]
    bookings = [team.book("alice", email=email, name="Quote Tester", slot=n) for n, email in enumerate(emails)]

    team.drain()

    for booking in bookings:
        op = SyncOperation.objects.get(booking=booking)
        assert op.state == SyncOperation.State.PUSHED, (op.state, op.error_code, op.error_message)
        assert op.error_code == "" and "MALFORMED" not in op.outcome
        assert booking.salesforce_sync.sf_who_id == "", "a hostile email matched a record"


@pytest.mark.django_db
@pytest.mark.emulator
def test_soql_metacharacters_in_a_routing_lookup_fall_back_cleanly(team, sfdc_emulator):
    from routing.models import Route
    from tests.routing.routing_support import save_form, sf_route

    form = save_form(team.workspace, routes=[sf_route()], fallback=team.links["bob"])
    for email in ("x'OR'1'='1@example.com", "a%_'b=c@example.com"):
        response = Client().post(f"/forms/{team.workspace.slug}/{form.slug}/", {"email": email, "name": "Q"})
        assert response.status_code == 302
        submission = Submission.objects.order_by("-pk").first()
        assert submission.used_fallback and submission.route_action == Route.Action.SALESFORCE_LOOKUP
        # The lookup ran (one composite call) and found nothing: no malformed query, no match-all.
        assert submission.api_calls == 1, submission.explanation
        assert submission.fallback_reason == "no contact, unconverted lead or account in Salesforce matches this email"
