"""Thin Celery entry points for the mail outbox. They take ids and re-read the row, so
acks_late (a killed worker's task is delivered again) is safe."""

from celery import shared_task

from . import email_outbox


@shared_task(name="bookings.tasks.send_booking_email", bind=True, acks_late=True, ignore_result=True, max_retries=None)
def send_booking_email(self, email_id: int) -> None:
    retry_in = email_outbox.email_send(email_id)
    if retry_in is not None:
        # The row holds the attempt count; the sweep re-sends it too if this retry is lost.
        raise self.retry(countdown=retry_in)


@shared_task(name="bookings.tasks.sweep_emails", ignore_result=True)
def sweep_emails() -> int:
    return email_outbox.sweep()
