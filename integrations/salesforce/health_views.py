"""Sync health on the settings page (admins): its context, "Retry all in this group" and the
CSV export of a period's operations. Thin callers of health (reads) and admin_actions (the
one retry service); everything is scoped to request.workspace."""

import csv
import logging
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from bookings.timezones import user_zone
from workestra.tenancy import admin_required

from . import admin_actions, health, health_chart
from .models import SyncOperation

logger = logging.getLogger("integrations.salesforce.health")
MAX_EXPORT_DAYS = 366
CSV_COLUMNS = (
    "operation_id",
    "created_at",
    "finished_at",
    "kind",
    "trigger",
    "state",
    "attempts",
    "api_calls",
    "booking_id",
    "booking_start_at",
    "invitee_email",
    "sf_event_id",
    "error_code",
    "error_message",
    "outcome",
)
# A cell a spreadsheet would run as a formula (OWASP "CSV injection") is prefixed with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def health_context(*, workspace, connection, user) -> dict:
    """Everything the health section shows: a dozen aggregate queries, whatever the volume."""
    zone = user_zone(user)
    days = health.daily_operations(workspace=workspace, zone=zone)
    api_chart, allotment_on_chart = health_chart.api_calls_chart(days, connection.api_usage_total)
    today = timezone.localdate(timezone=zone)
    return {
        "days": days,
        "operations_chart": health_chart.operations_chart(days),
        "api_chart": api_chart,
        "allotment": connection.api_usage_total,
        "allotment_on_chart": allotment_on_chart,
        "totals": {name: sum(getattr(d, name) for d in days) for name in ("pushed", "failed", "skipped", "waiting")},
        "api_calls_total": sum(d.api_calls for d in days),
        "groups": health.error_groups(workspace=workspace),
        "lag": health.outbox_lag(connection=connection),
        "held": health.held_count(workspace=workspace),
        "latency": health.booking_to_event(workspace=workspace),
        "export_from": (today - timedelta(days=health.CHART_DAYS - 1)).isoformat(),
        "export_to": today.isoformat(),
        "colours": health_chart.COLOURS,
    }


@require_POST
@admin_required
def retry_group(request):
    """Re-queue the workspace's failed rows of one error code through the admin's retry service."""
    code = request.POST.get("error_code", "")
    ids = list(health.failed_in_group(workspace=request.workspace, error_code=code).values_list("pk", flat=True))
    count = admin_actions.operations_retry_now(operation_ids=ids) if ids else 0
    logger.info(
        "salesforce.health.retry_group",
        extra={"workspace_id": request.workspace.pk, "error_code": code, "count": count},
    )
    label = code or "without an error code"
    if count:
        messages.success(request, f"{count} failed operation{'s' if count != 1 else ''} ({label}) will be retried now.")
    else:
        messages.info(request, f"No failed operations ({label}) to retry.")
    return redirect(reverse("salesforce:settings") + "#sync-health")


class ExportForm(forms.Form):
    """A period of local days, both ends included; blank means the chart's 30 days."""

    start = forms.DateField(label="From", required=False)
    end = forms.DateField(label="To", required=False)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["end"] = end = data.get("end") or self.today
        data["start"] = start = data.get("start") or end - timedelta(days=health.CHART_DAYS - 1)
        if start and end:
            if end < start:
                raise forms.ValidationError("The end is before the start.")
            if (end - start).days >= MAX_EXPORT_DAYS:
                raise forms.ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at a time.")
        return data


class _Echo:
    def write(self, value):
        return value


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(op: SyncOperation) -> list[str]:
    values = (
        op.pk,
        op.created_at.isoformat(),
        op.finished_at.isoformat() if op.finished_at else "",
        op.kind,
        op.trigger,
        op.state,
        op.attempts,
        f"{op.api_calls:g}",
        op.booking_id,
        op.booking.start_at.isoformat(),
        op.booking.invitee_email,
        (op.sf_ids or {}).get("event_id", ""),
        op.error_code,
        op.error_message,
        op.outcome,
    )
    return [csv_cell(v) for v in values]


@require_safe
@admin_required
def export_operations(request):
    """The operations created in a period of local days (`start`, `end` inclusive, ISO dates;
    blank: the last 30 days), streamed as CSV so a year of rows never sits in memory."""
    zone = user_zone(request.user)
    form = ExportForm(request.GET, today=timezone.localdate(timezone=zone))
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return HttpResponseBadRequest(f"Pick the period to export: {errors}", content_type="text/plain; charset=utf-8")
    start = datetime.combine(form.cleaned_data["start"], time(), tzinfo=zone)
    end = datetime.combine(form.cleaned_data["end"] + timedelta(days=1), time(), tzinfo=zone)
    rows = health.operations_for_export(workspace=request.workspace, start=start, end=end).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(CSV_COLUMNS)
        for op in rows:
            yield writer.writerow(_row(op))

    name = f"salesforce-operations-{request.workspace.slug}-{form.cleaned_data['start']}-{form.cleaned_data['end']}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
