"""Included last by the root URLconf: any other address under the public prefixes gets the
styled "This link isn't available" page (404), also with DEBUG on, where Django would
otherwise show its technical 404 to an invitee who mistyped a link.

Only addresses ending in "/" match, so APPEND_SLASH still sends /book/acme/alice to its page.
"""

from django.urls import re_path

from .views.public import unknown_public_link

app_name = "unavailable"
urlpatterns = [
    re_path(r"^book/(?P<rest>[\s\S]*/)$", unknown_public_link, name="booking_link"),
    re_path(r"^bookings/(?P<rest>[\s\S]*/)$", unknown_public_link, name="booking"),
    re_path(r"^forms/(?P<rest>[\s\S]*/)$", unknown_public_link, name="routing_form"),
]
