"""Print the uid of the most recently created booking, and nothing else.

The README's recap example reads it into a shell variable; `manage.py shell -c` cannot do that
on Django 5.2, whose shell prints "N objects imported automatically" to stdout first.
"""

from django.core.management.base import BaseCommand, CommandError

from bookings.models import Booking


class Command(BaseCommand):
    help = "Print the uid of the most recently created booking (one line, for shell scripts)."

    def handle(self, *args, **options):
        booking = Booking.objects.order_by("-created_at", "-pk").first()
        if booking is None:
            raise CommandError("There are no bookings yet: book a meeting first.")
        self.stdout.write(booking.uid)
