from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self):
        from . import deletion  # noqa: F401  (connects the pre_delete guard)
