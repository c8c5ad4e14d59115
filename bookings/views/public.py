"""Pages an invitee uses without signing in: book, see, reschedule and cancel a meeting."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from workestra.ratelimit import limit_post

from .. import hooks, ics, selectors, services
from ..availability import group_by_local_day, link_free_slots
from ..models import new_form_token
from ..timezones import canonical_zone, user_zone, zone_choices
from ..unavailable import shows_unavailable_page, unavailable_response

RESCHEDULE_TEMPLATE = "bookings/booking_reschedule.html"
CANCEL_TEMPLATE = "bookings/booking_cancel.html"

BOOKING_FIELDS = ("name", "email", "start")


@require_http_methods(["GET", "HEAD", "POST"])
@limit_post(client="RATELIMIT_BOOK_PER_CLIENT", link="RATELIMIT_BOOK_PER_LINK")
@shows_unavailable_page
def book(request, workspace_slug: str, link_slug: str):
    link = selectors.link_get_public(workspace_slug=workspace_slug, link_slug=link_slug)
    if request.method == "POST":
        values = {field: request.POST.get(field, "") for field in BOOKING_FIELDS}
        # The rendered form's one-time token: Back + Book again lands on the first booking.
        form_token = services.clean_form_token(request.POST.get("form_token"))
        if (earlier := selectors.booking_by_form_token(token=form_token)) is not None:
            return _already_booked(request, earlier)
        errors = services.booking_input_errors(**values)
        if errors:
            return _render_book(request, link, values, errors, status=400, form_token=form_token)
        try:
            booking = services.booking_create(
                link=link, **values, form_token=form_token, invitee_timezone=request.GET.get("tz", "")
            )
        except services.AlreadyBooked as already:
            return _already_booked(request, already.booking)
        except services.BookingError as error:
            errors = {error.field or "form": error.message}
            return _render_book(request, link, values, errors, status=400, form_token=form_token)
        messages.success(
            request, f"You're booked. We're emailing the details and a calendar invitation to {booking.invitee_email}."
        )
        return redirect(_keep_tz(booking.get_absolute_url(), request))
    values = {"name": request.GET.get("name", ""), "email": request.GET.get("email", ""), "start": ""}
    return _render_book(request, link, values)


def _already_booked(request, booking):
    messages.info(request, "You already booked this meeting. Here it is.")
    return redirect(_keep_tz(booking.get_absolute_url(), request))


def _render_book(request, link, values, errors=None, status=200, form_token=None):
    zone_context = _zone_context(request, default=user_zone(link.owner))
    context = {
        "link": link,
        "form_token": form_token or new_form_token(),
        "values": values,
        "errors": errors or {},
        "days": group_by_local_day(link_free_slots(link), zone_context["zone"]),
        **zone_context,
    }
    return render(request, "bookings/book.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
@shows_unavailable_page
def booking_detail(request, uid: str):
    return _render_booking(request, selectors.booking_get_public(uid=uid))


@require_http_methods(["GET", "HEAD"])
@shows_unavailable_page
def booking_ics(request, uid: str):
    """The "Add to calendar" download: the meeting as an .ics file (METHOD:PUBLISH, the emails' UID)."""
    booking = selectors.booking_get_public(uid=uid)
    text = ics.booking_ics(booking=booking, method=ics.Method.PUBLISH, page_url=booking.get_public_url())
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="meeting.ics"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@limit_post(client="RATELIMIT_CHANGE_PER_CLIENT", booking="RATELIMIT_CHANGE_PER_BOOKING")
@shows_unavailable_page
def booking_reschedule(request, uid: str):
    booking = selectors.booking_get_public(uid=uid)
    if request.method != "POST":
        return _render_action(request, booking, RESCHEDULE_TEMPLATE)
    start = request.POST.get("start", "")
    try:
        services.booking_reschedule(booking=booking, start=start)
    except services.BookingError as error:
        return _render_action(request, booking, RESCHEDULE_TEMPLATE, error=error, values={"start": start}, status=400)
    messages.success(request, "The meeting was moved.")
    return redirect(_keep_tz(booking.get_absolute_url(), request))


@require_http_methods(["GET", "HEAD", "POST"])
@limit_post(client="RATELIMIT_CHANGE_PER_CLIENT", booking="RATELIMIT_CHANGE_PER_BOOKING")
@shows_unavailable_page
def booking_cancel(request, uid: str):
    booking = selectors.booking_get_public(uid=uid)
    if request.method != "POST":
        return _render_action(request, booking, CANCEL_TEMPLATE)
    reason = request.POST.get("reason", "")
    try:
        services.booking_cancel(booking=booking, reason=reason)
    except services.BookingError as error:
        return _render_action(request, booking, CANCEL_TEMPLATE, error=error, values={"reason": reason}, status=400)
    messages.success(request, "The meeting was cancelled.")
    return redirect(_keep_tz(booking.get_absolute_url(), request))


@require_http_methods(["GET", "HEAD"])
def unknown_public_link(request, rest: str = ""):
    """Any other address under /book/ or /bookings/ (a uid cut short, a slug with a typo)."""
    return unavailable_response(request)


def _render_booking(request, booking, *, error=None, status=200):
    is_manager = selectors.booking_is_managed_by(booking=booking, membership=request.membership)
    context = {
        **_booking_context(request, booking),
        "error": error,
        "history": selectors.booking_history(booking=booking),
        "badges": hooks.collect_badges(request, [booking]).get(booking.pk, []) if is_manager else [],
        "panels": hooks.collect_panels(hooks.booking_panels, request, booking) if is_manager else [],
    }
    return render(request, "bookings/booking_detail.html", context, status=status)


def _render_action(request, booking, template, *, error=None, values=None, status=200):
    """The reschedule or cancel page; a cancelled booking has neither, so it shows the booking
    (with the error of a refused POST)."""
    if not booking.is_live:
        if error is not None:
            return _render_booking(request, booking, error=error, status=status)
        return redirect(_keep_tz(booking.get_absolute_url(), request))
    context = {**_booking_context(request, booking), "error": error, "values": values or {}}
    if template == RESCHEDULE_TEMPLATE:
        context["days"] = group_by_local_day(link_free_slots(booking.link), context["zone"])
    return render(request, template, context, status=status)


def _booking_context(request, booking) -> dict:
    # The signed-in host always sees their own zone; anyone else may pick one with ?tz=.
    viewer_is_host = request.user.is_authenticated and request.user.pk == booking.host_id
    zone_context = _zone_context(request, default=user_zone(booking.host), allow_param=not viewer_is_host)
    return {"booking": booking, "tz_query": _tz_query(request), "can_pick_zone": not viewer_is_host, **zone_context}


def _zone_context(request, *, default, allow_param: bool = True) -> dict:
    """The zone to show times in: ?tz= when it names a listed zone (or a link to one), else
    `default`, with a note saying the requested name was not used."""
    requested = request.GET.get("tz", "") if allow_param else ""
    chosen = canonical_zone(requested)
    zone = chosen or default
    listed = canonical_zone(zone.key)
    return {
        "zone": zone,
        "zone_name": zone.key,
        "zone_choices": zone_choices(),
        "zone_is_listed": listed is not None and listed.key == zone.key,
        "unknown_zone": requested if requested and chosen is None else "",
        # Only on a plain GET: reloading a refused POST's page would drop its errors.
        "device_zone_default": allow_param and not requested and request.method == "GET",
    }


def _tz_query(request) -> str:
    """'?tz=<zone>' when the viewer picked a listed zone, so the next page keeps showing it."""
    zone = canonical_zone(request.GET.get("tz", ""))
    return "?" + urlencode({"tz": zone.key}) if zone else ""


def _keep_tz(path: str, request) -> str:
    return path + _tz_query(request)
