"""The member's calendar: upcoming bookings, with other apps' banners and badges."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from workestra.tenancy import member_required

from .. import hooks, selectors
from ..models import Booking
from ..timezones import user_zone

PAGE_SIZE = 50


@require_http_methods(["GET", "HEAD"])
@member_required
def calendar(request):
    everyone = request.membership.is_admin and request.GET.get("all") == "1"
    bookings = selectors.bookings_upcoming(membership=request.membership, everyone=everyone)
    page = Paginator(bookings, PAGE_SIZE).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    badges = hooks.collect_badges(request, listed)  # one call for the whole page: no N+1
    zone = user_zone(request.user)
    days: dict = {}
    for booking in listed:
        days.setdefault(booking.start_at.astimezone(zone).date(), []).append((booking, badges.get(booking.pk, [])))
    context = {
        "banners": hooks.collect_banners(request),
        "days": list(days.items()),
        "page": page,
        "everyone": everyone,
        "zone": zone,
        "zone_name": zone.key,
    }
    return render(request, "bookings/calendar.html", context)


@require_http_methods(["GET", "HEAD"])
@member_required
def booking_for_member(request, booking_id: int):
    """The address Salesforce records link to: the host or an admin signs in and lands on the
    booking's page; another member is refused, another workspace sees 404."""
    booking = get_object_or_404(Booking, pk=booking_id, workspace=request.workspace)
    if not selectors.booking_is_managed_by(booking=booking, membership=request.membership):
        raise PermissionDenied("Only the host and the workspace's admins can open this booking.")
    return redirect(booking.get_absolute_url())
