from django.urls import path, register_converter

from .views import calendar, links, public


class BookingUidConverter:
    """Booking uids are url-safe base64 (secrets.token_urlsafe); anything else is a 404
    before it reaches the database."""

    regex = r"[A-Za-z0-9_-]{8,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(BookingUidConverter, "booking_uid")

app_name = "bookings"
urlpatterns = [
    path("book/<slug:workspace_slug>/<slug:link_slug>/", public.book, name="book"),
    path("bookings/<booking_uid:uid>/", public.booking_detail, name="booking_detail"),
    path("bookings/<booking_uid:uid>/reschedule/", public.booking_reschedule, name="booking_reschedule"),
    path("bookings/<booking_uid:uid>/cancel/", public.booking_cancel, name="booking_cancel"),
    path("bookings/<booking_uid:uid>/meeting.ics", public.booking_ics, name="booking_ics"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/bookings/<int:booking_id>/", calendar.booking_for_member, name="booking_for_member"),
    path("links/", links.link_list, name="link_list"),
    path("links/new/", links.link_new, name="link_new"),
    path("links/<int:link_id>/edit/", links.link_edit, name="link_edit"),
    path("links/<int:link_id>/integrations/", links.link_integrations, name="link_integrations"),
]
