from datetime import UTC

import pytest

from bookings.models import Booking
from tests.fixtures.factories import make_booking

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["bookinglink", "booking"])
def test_changelists_search_filter_and_change_pages_load(admin_client, link, model):
    booking = make_booking(link, email="jane@example.com")
    obj = link if model == "bookinglink" else booking
    base = f"/admin/bookings/{model}/"

    assert admin_client.get(base).status_code == 200
    assert admin_client.get(base, {"q": "jane@example.com" if model == "booking" else "intro"}).status_code == 200
    assert admin_client.get(base, {"workspace__id__exact": link.workspace_id}).status_code == 200
    assert admin_client.get(f"{base}{obj.pk}/change/").status_code == 200


def test_booking_search_finds_by_uid_invitee_and_host(admin_client, link):
    booking = make_booking(link, email="jane@example.com", name="Jane Roe")

    for query in (booking.uid, "jane@example.com", "Jane Roe", link.owner.email):
        response = admin_client.get("/admin/bookings/booking/", {"q": query})
        assert list(response.context["cl"].result_list) == [booking], query


def test_bookings_are_listed_as_invitee_and_time_not_uid(admin_client, link):
    from datetime import datetime

    booking = make_booking(link, name="Jane Roe", start=datetime(2030, 3, 4, 14, 0, tzinfo=UTC))

    html = admin_client.get("/admin/bookings/booking/").content.decode()

    assert (
        f'<a href="/admin/bookings/booking/{booking.pk}/change/">Jane Roe<br><span class="quiet" style="white-space:nowrap">4 Mar 2030, 14:00 UTC</span></a>'
        in html
    )
    assert booking.uid not in html


def test_the_cancel_action_goes_through_the_service(admin_client, link):
    booking = make_booking(link)

    admin_client.post(
        "/admin/bookings/booking/", {"action": "cancel_bookings", "_selected_action": [booking.pk]}, follow=True
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.changes.last().reason == "Cancelled by support."
