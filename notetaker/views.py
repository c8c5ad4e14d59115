"""The notetaker's webhook, and the host's edit and Push buttons for a booking's recap."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bookings.models import Booking
from bookings.selectors import booking_is_managed_by
from workestra.tenancy import member_required

from . import selectors, services, webhook
from .forms import ActionItemFormSet, RecapForm, action_items_from, initial_items

logger = logging.getLogger("notetaker.views")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # machine-to-machine: authenticated by the body's HMAC signature instead
def recap_webhook(request):
    if request.method != "POST":
        response = _error(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "The body is too large.")
    try:
        webhook.verify_signature(body, request.headers.get(webhook.SIGNATURE_HEADER), settings.NOTETAKER_WEBHOOK_SECRET)
        payload = webhook.parse(body)
        body_hash = webhook.body_sha256(body)
        key = webhook.delivery_key(
            idempotency_key=request.headers.get("Idempotency-Key", "").strip(), payload=payload, body_hash=body_hash
        )
        result = services.recap_receive_delivery(payload=payload, key=key, body_hash=body_hash)
    except webhook.WebhookError as error:
        if error.status in (401, 403, 503):
            logger.warning("notetaker.webhook.refused", extra={"status": error.status})
        return _error(error.status, error.message)
    except services.BookingNotFound:
        return _error(404, "No booking has this booking_uid.")
    except services.DeliveryConflict:
        return _error(422, "This Idempotency-Key was already used for a delivery with a different body.")
    response = HttpResponse(result.content, status=result.status, content_type="application/json")
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _managed_recap(request, uid: str):
    """The booking (in the member's workspace) and its recap; only its host or an admin."""
    booking = (
        Booking.objects.select_related("workspace", "link", "host").filter(uid=uid, workspace=request.workspace).first()
    )
    if booking is None:
        raise Http404("No such booking.")
    if not booking_is_managed_by(booking=booking, membership=request.membership):
        raise PermissionDenied("Only the meeting's host or a workspace admin can change its recap.")
    recap = selectors.recap_for_booking(booking)
    if recap is None:
        raise Http404("This meeting has no recap yet.")
    return booking, recap


@require_http_methods(["GET", "HEAD", "POST"])
@member_required
def recap_edit(request, uid: str):
    booking, recap = _managed_recap(request, uid)
    if request.method == "POST":
        form = RecapForm(request.POST)
        formset = ActionItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            changed = services.recap_update(
                recap=recap,
                summary=form.cleaned_data["summary"],
                action_items=action_items_from(formset),
                user=request.user,
            )
            messages.success(request, "The recap was saved." if changed else "Nothing changed.")
            return redirect(booking.get_absolute_url())
    else:
        form = RecapForm(initial={"summary": recap.summary})
        formset = ActionItemFormSet(initial=initial_items(recap), prefix="items")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "notetaker/recap_edit.html",
        {"booking": booking, "recap": recap, "form": form, "formset": formset},
        status=status,
    )


@require_POST
@member_required
def recap_push(request, uid: str):
    booking, recap = _managed_recap(request, uid)
    try:
        queued = services.recap_request_push(recap=recap)
    except services.PushUnavailable as error:
        messages.error(request, error.message)
    else:
        if queued.notice:
            messages.warning(request, queued.notice)
        else:
            messages.success(request, f"The recap is on its way to {selectors.destination_name()}.")
    return redirect(booking.get_absolute_url())
