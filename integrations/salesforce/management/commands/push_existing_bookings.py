"""Push a workspace's existing future bookings after a first connect."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from integrations.salesforce import outbox
from integrations.salesforce.drain import drain
from integrations.salesforce.models import BookingSync, SalesforceConnection, SyncOperation

OPEN = (SyncOperation.State.PENDING, SyncOperation.State.IN_PROGRESS)


class Command(BaseCommand):
    help = "Queue every live future booking of a workspace that Salesforce doesn't have yet, then push them."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace slug")
        parser.add_argument("--no-wait", action="store_true", help="only queue; let the workers push")

    def handle(self, *args, workspace, no_wait, **options):
        connection = SalesforceConnection.objects.filter(workspace__slug=workspace).first()
        if connection is None or not connection.is_connected:
            raise CommandError(f"Workspace {workspace!r} has no working Salesforce connection; connect it first.")
        bookings = (
            Booking.objects.filter(workspace=connection.workspace, start_at__gte=timezone.now())
            .exclude(status=Booking.Status.CANCELLED)
            .exclude(pk__in=BookingSync.objects.exclude(event_state=BookingSync.EventState.NONE).values("booking_id"))
        )
        queued = []
        with transaction.atomic():
            for booking in bookings.select_related("link"):
                if outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.BACKFILL):
                    queued.append(booking.pk)
        self.stdout.write(f"Queued {len(queued)} booking(s) of {workspace} for Salesforce.")
        if no_wait or not queued:
            return
        ops = SyncOperation.objects.filter(
            connection=connection, booking_id__in=queued, trigger=SyncOperation.Trigger.BACKFILL
        )
        while True:
            drain(connection.pk)
            remaining = ops.filter(state__in=OPEN).count()
            self._progress(len(queued) - remaining, len(queued))
            if not remaining:
                break
            time.sleep(0.5)
        self.stdout.write("")
        counts = {state: ops.filter(state=state).count() for state in SyncOperation.State.values}
        summary = ", ".join(
            f"{counts[s]} {SyncOperation.State(s).label.lower()}" for s in SyncOperation.State.values if counts[s]
        )
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stdout.flush()
