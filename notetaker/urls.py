from django.urls import path, re_path

from . import views

app_name = "notetaker"
# Booking uids as bookings.urls accepts them (url-safe base64, 8-32 characters).
BOOKING_UID = r"(?P<uid>[A-Za-z0-9_-]{8,32})"

urlpatterns = [
    path("api/notetaker/recaps/", views.recap_webhook, name="recap_webhook"),
    re_path(rf"^bookings/{BOOKING_UID}/recap/$", views.recap_edit, name="recap_edit"),
    re_path(rf"^bookings/{BOOKING_UID}/recap/push/$", views.recap_push, name="recap_push"),
]
