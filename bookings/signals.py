"""Signals other apps listen to. They are sent inside the transaction that changes the
booking, so a listener's writes commit or roll back with it (the Salesforce outbox relies
on this). Listeners must only write rows and schedule work with transaction.on_commit."""

from django.dispatch import Signal

# Each is sent with booking=<Booking>.
booking_confirmed = Signal()
booking_rescheduled = Signal()
booking_cancelled = Signal()
