"""Reads for booking pages. Member-facing reads take the membership and never leave its workspace."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Booking, BookingLink


def link_get_public(*, workspace_slug: str, link_slug: str) -> BookingLink:
    """Raises Http404."""
    return get_object_or_404(
        BookingLink.objects.select_related("workspace", "owner"), workspace__slug=workspace_slug, slug=link_slug
    )


def booking_get_public(*, uid: str) -> Booking:
    """Raises Http404."""
    return get_object_or_404(Booking.objects.select_related("link__owner", "host", "workspace"), uid=uid)


def booking_by_form_token(*, token: str) -> Booking | None:
    """The booking that the booking form carrying this one-time token made, if any."""
    return Booking.objects.select_related("link").filter(form_token=token).first() if token else None


def booking_history(*, booking: Booking) -> QuerySet:
    return booking.changes.all()


def booking_is_managed_by(*, booking: Booking, membership) -> bool:
    """The host, or an admin of the booking's workspace: who sees its internal panels and badges."""
    if membership is None or membership.workspace_id != booking.workspace_id:
        return False
    return membership.user_id == booking.host_id or membership.is_admin


def bookings_upcoming(*, membership, everyone: bool = False, now: datetime | None = None) -> QuerySet:
    """Bookings not yet over, soonest first: the member's own, or (admins asking) the workspace's."""
    bookings = Booking.objects.filter(workspace_id=membership.workspace_id, end_at__gt=now or timezone.now())
    if not (everyone and membership.is_admin):
        bookings = bookings.filter(host_id=membership.user_id)
    return bookings.select_related("link", "host").order_by("start_at", "id")


def links_visible(*, membership) -> QuerySet:
    """The member's own links; an admin sees every link in the workspace."""
    links = BookingLink.objects.filter(workspace_id=membership.workspace_id)
    if not membership.is_admin:
        links = links.filter(owner_id=membership.user_id)
    return links.select_related("owner", "workspace").order_by("owner__email", "title", "id")


def link_get_editable(*, membership, link_id: int) -> BookingLink:
    """Raises Http404 for a link outside the member's workspace and PermissionDenied for
    someone else's link (unless the member is an admin)."""
    link = (
        BookingLink.objects.select_related("owner", "workspace")
        .filter(workspace_id=membership.workspace_id, pk=link_id)
        .first()
    )
    if link is None:
        raise Http404("No such booking link.")
    if link.owner_id != membership.user_id and not membership.is_admin:
        raise PermissionDenied("Only the link's owner or a workspace admin can change it.")
    return link
