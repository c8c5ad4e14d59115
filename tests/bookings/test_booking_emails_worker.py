"""The mail outbox through a real worker and beat: a mail server that is down when the
booking is made, then back; every email arrives exactly once."""

import pytest

from bookings.availability import link_free_slots
from bookings.models import BookingEmail
from bookings.services import booking_cancel, booking_create
from tests.bookings.flaky_email_backend import DIR_ENV
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_mail_written_during_an_outage_is_sent_once_the_server_is_back(link, celery_worker_process, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (mail_dir / "down").touch()
    celery_worker_process(
        extra_env={
            "EMAIL_BACKEND": "tests.bookings.flaky_email_backend.FlakyBackend",
            DIR_ENV: str(mail_dir),
            "BOOKING_EMAIL_RETRY_BASE_SECONDS": "0.5",
            "BOOKING_EMAIL_RETRY_MAX_SECONDS": "1",
        }
    )

    booking = booking_create(link=link, name="Jane Roe", email="jane@example.com", start=link_free_slots(link)[0])
    booking_cancel(booking=booking, reason="Clash")
    wait_for(lambda: all(e.attempts >= 2 for e in BookingEmail.objects.all()), what="two refused attempts per email")
    assert not list(mail_dir.glob("sent-*"))

    (mail_dir / "down").unlink()
    wait_for(lambda: set(BookingEmail.objects.values_list("state", flat=True)) == {"sent"}, what="every email sent")

    sent = sorted(path.read_text() for path in mail_dir.glob("sent-*"))
    assert len(sent) == 4  # confirmed + cancelled, to the invitee and to the host: once each
    assert sum('method="CANCEL"' in text for text in sent) == 2
    assert sum("\nTo: jane@example.com" in text for text in sent) == 2
