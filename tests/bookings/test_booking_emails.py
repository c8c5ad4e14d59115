"""The mail outbox: rows written with the booking change, sent after commit, retried with
backoff through a mail server outage, swept when their task was lost."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from bookings import email_outbox
from bookings.availability import link_free_slots
from bookings.models import Booking, BookingEmail
from bookings.services import BookingError, booking_cancel, booking_create, booking_reschedule
from tests.bookings.flaky_email_backend import DIR_ENV

pytestmark = pytest.mark.django_db
FLAKY = "tests.bookings.flaky_email_backend.FlakyBackend"


@pytest.fixture
def flaky_mail(settings, tmp_path, monkeypatch):
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    settings.EMAIL_BACKEND = FLAKY
    settings.BOOKING_EMAIL_RETRY_BASE_SECONDS = 30
    return tmp_path


def book(link, slot=0, **extra):
    return booking_create(
        link=link, name="Jane Roe", email="jane@example.com", start=link_free_slots(link)[slot], **extra
    )


def make_due(email_ids):
    BookingEmail.objects.filter(pk__in=email_ids).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_booking_writes_one_email_per_recipient_in_its_transaction(link, settings):
    settings.PUBLIC_BASE_URL = "https://app.workestra.test"
    link.owner.timezone = "Europe/London"
    link.owner.save()

    booking = book(link)

    invitee, host = BookingEmail.objects.order_by("id")
    start = booking.start_at.astimezone(timezone.get_fixed_timezone(0)).strftime("%a %-d %b %Y")
    assert (invitee.recipient, invitee.to_address, invitee.reply_to, invitee.kind, invitee.state) == (
        "invitee",
        "jane@example.com",
        "member@acme.test",
        "confirmed",
        "pending",
    )
    assert (host.recipient, host.to_address, host.reply_to) == ("host", "member@acme.test", "jane@example.com")
    assert invitee.subject.startswith(f"Confirmed: 30 min intro, {start}") and invitee.subject.endswith(
        "(Europe/London)"
    )
    assert " with " not in invitee.subject
    assert f"Reschedule or cancel: https://app.workestra.test/bookings/{booking.uid}/" in invitee.body
    assert booking.uid not in host.body + host.ics  # the host's copy links to the member page
    assert f"https://app.workestra.test/calendar/bookings/{booking.pk}/" in host.body
    assert "METHOD:REQUEST\r\n" in invitee.ics and invitee.ics_method == "REQUEST"


def test_a_refused_booking_writes_no_email(link):
    taken = book(link).start_at
    with pytest.raises(BookingError):
        booking_create(link=link, name="Jo", email="jo@example.com", start=taken)
    with pytest.raises(RuntimeError), transaction.atomic():
        book(link)
        raise RuntimeError("rolled back after the booking")

    assert BookingEmail.objects.count() == 2


def test_reschedule_and_cancel_send_an_update_then_a_cancellation(link):
    booking = book(link)
    booking_reschedule(booking=booking, start=link_free_slots(link)[1])
    booking_cancel(booking=Booking.objects.get(), reason="Something came up")

    rows = list(BookingEmail.objects.filter(recipient="invitee").order_by("id"))
    assert [(r.kind, r.ics_method) for r in rows] == [
        ("confirmed", "REQUEST"),
        ("rescheduled", "REQUEST"),
        ("cancelled", "CANCEL"),
    ]
    assert [f"SEQUENCE:{n}\r\n" in row.ics for n, row in enumerate(rows)] == [True, True, True]
    assert len({line for r in rows for line in r.ics.split("\r\n") if line.startswith("UID:")}) == 1
    assert rows[2].subject.startswith("Cancelled: ") and "Reason:   Something came up" in rows[2].body
    assert "Book another time: http://" in rows[2].body


def test_commit_enqueues_the_send_task_for_each_row(link, django_capture_on_commit_callbacks, monkeypatch):
    sent_to_broker = []
    monkeypatch.setattr("bookings.tasks.send_booking_email.delay", sent_to_broker.append)

    with django_capture_on_commit_callbacks(execute=True):
        book(link)

    assert sent_to_broker == list(BookingEmail.objects.order_by("id").values_list("pk", flat=True))


def test_a_sent_email_carries_the_invitation_as_text_calendar(link):
    book(link)
    invitee = BookingEmail.objects.order_by("id").first()

    assert email_outbox.email_send(invitee.pk) is None
    assert email_outbox.email_send(invitee.pk) is None  # already sent: nothing happens

    (message,) = mail.outbox
    assert message.to == ["jane@example.com"] and message.reply_to == ["member@acme.test"]
    assert message.subject == invitee.subject
    raw = message.message().as_string()
    assert 'Content-Type: text/calendar; charset="utf-8"; method="REQUEST"' in raw
    assert 'Content-Disposition: attachment; filename="invite.ics"' in raw
    invitee.refresh_from_db()
    assert (invitee.state, invitee.attempts, invitee.lease_until, invitee.last_error) == ("sent", 1, None, "")


def test_an_outage_delays_mail_and_loses_none(link, flaky_mail):
    """The mail server refuses twice (backoff 30 s, then 60 s), then takes both emails once."""
    book(link)
    ids = list(BookingEmail.objects.order_by("id").values_list("pk", flat=True))
    (flaky_mail / "down").touch()

    assert [email_outbox.email_send(pk) for pk in ids] == [30, 30]
    assert [email_outbox.email_send(pk) for pk in ids] == [None, None]  # not due yet: untouched
    make_due(ids)
    assert [email_outbox.email_send(pk) for pk in ids] == [60, 60]
    row = BookingEmail.objects.get(pk=ids[0])
    assert (row.state, row.attempts) == ("pending", 2)
    assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed (the test's mail server is down)"
    assert mail.outbox == []

    (flaky_mail / "down").unlink()
    make_due(ids)
    assert [email_outbox.email_send(pk) for pk in ids] == [None, None]

    assert sorted(m.to[0] for m in mail.outbox) == ["jane@example.com", "member@acme.test"]
    assert list(BookingEmail.objects.values_list("state", "attempts")) == [("sent", 3), ("sent", 3)]


def test_after_the_last_attempt_a_row_is_failed_and_left_alone(link, flaky_mail, settings):
    settings.BOOKING_EMAIL_MAX_ATTEMPTS = 2
    book(link)
    pk = BookingEmail.objects.order_by("id").first().pk
    (flaky_mail / "down").touch()

    assert email_outbox.email_send(pk) == 30
    make_due([pk])
    assert email_outbox.email_send(pk) is None

    assert BookingEmail.objects.get(pk=pk).state == "failed"
    make_due([pk])
    assert email_outbox.sweep() == 1  # only the host's row is still waiting


def test_the_sweep_enqueues_due_unleased_rows_only(link, monkeypatch):
    enqueued = []
    monkeypatch.setattr("bookings.emails.enqueue_send", lambda pk: enqueued.append(pk) or True)
    book(link)
    first, second = BookingEmail.objects.order_by("id")
    BookingEmail.objects.filter(pk=second.pk).update(lease_until=timezone.now() + timedelta(seconds=60))

    assert email_outbox.sweep() == 1
    assert enqueued == [first.pk]
    BookingEmail.objects.filter(pk=second.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )  # its worker died
    assert email_outbox.sweep() == 2


def test_backoff_doubles_and_stays_below_the_visibility_timeout(settings):
    settings.BOOKING_EMAIL_RETRY_BASE_SECONDS = 30
    assert [email_outbox.retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 20)] == [30, 60, 120, 240, 480, 600, 600]
    assert settings.BOOKING_EMAIL_RETRY_MAX_SECONDS < settings.CELERY_VISIBILITY_TIMEOUT


def test_the_invitee_reads_times_in_the_zone_the_page_showed_them(client, link):
    link.owner.timezone = "Europe/London"
    link.owner.save()
    slot = link_free_slots(link)[0]

    client.post(
        "/book/acme/intro/?tz=Asia/Calcutta", {"name": "Jane", "email": "jane@example.com", "start": slot.isoformat()}
    )

    booking = Booking.objects.get()
    assert booking.invitee_timezone == "Asia/Kolkata"
    invitee, host = BookingEmail.objects.order_by("id")
    assert invitee.subject.endswith("(Asia/Kolkata)") and "(Asia/Kolkata)" in invitee.body
    assert host.subject.endswith("(Europe/London)")


def test_support_can_send_waiting_and_failed_emails_again(admin_client, link, monkeypatch):
    enqueued = []
    monkeypatch.setattr("bookings.email_admin.enqueue_send", lambda pk: enqueued.append(pk) or True)
    book(link)
    first, second = BookingEmail.objects.order_by("id")
    BookingEmail.objects.filter(pk=first.pk).update(state="failed", next_attempt_at=timezone.now() + timedelta(hours=1))
    BookingEmail.objects.filter(pk=second.pk).update(state="sent")

    response = admin_client.post(
        "/admin/bookings/bookingemail/", {"action": "send_again_now", "_selected_action": [first.pk, second.pk]}
    )

    assert response.status_code == 302
    assert enqueued == [first.pk]
    first.refresh_from_db()
    assert first.state == "pending" and first.next_attempt_at <= timezone.now()
    assert admin_client.get(f"/admin/bookings/bookingemail/{first.pk}/change/").status_code == 200


def test_the_text_body_is_plain_text_not_html(link):
    booking_create(link=link, name="Seán O'Brien & Co", email="sean@example.com", start=link_free_slots(link)[0])

    invitee = BookingEmail.objects.order_by("id").first()

    assert invitee.body.startswith("Hi Seán O'Brien & Co,\n")
    assert "&#x27;" not in invitee.body and "&amp;" not in invitee.body
    assert "ATTENDEE;CN=Seán O'Brien & Co;" in invitee.ics.replace("\r\n ", "")
