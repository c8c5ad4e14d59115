from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self):
        from . import (
            deletion,  # noqa: F401  (connects the pre_delete guard)
            emails,  # noqa: F401  (connects the booking signals to the mail outbox)
        )
