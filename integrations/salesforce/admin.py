"""Support's view of every connection and every sync operation. Token columns never appear:
not in lists, forms, read-only fields, search or filters."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime

from bookings.admin import booking_cell

from . import admin_actions, health_views, records, services
from .errors import SalesforceError
from .models import (
    BookingSync,
    LinkPushSetting,
    SalesforceConnection,
    SalesforceUser,
    SyncAttempt,
    SyncOperation,
    UserMappingOverride,
)

TOKEN_FIELDS = ("access_token", "refresh_token")


class SystemWrittenAdmin(admin.ModelAdmin):
    """Rows the system writes (the OAuth flow, the drain): support reads them and acts through
    the actions, never edits, adds or deletes them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def sf_id_link(connection, sf_id: str, name: str = ""):
    """An id as a Lightning link (new tab), its name first when known."""
    link = records.record_link(connection.instance_url if connection else "", sf_id, name)
    if link is None:
        return "—"
    text = f"{link.label} {link.name}" if link.name else link.label
    if not link.url:
        return format_html('{}<br><span class="quiet">{}</span>', text, link.sf_id)
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a><br><span class="quiet">{}</span>',
        link.url,
        text,
        link.sf_id,
    )


def wrappable_code(code: str):
    """FIELD_CUSTOM_VALIDATION_EXCEPTION may break after each underscore: the column stays narrow."""
    if not code:
        return "—"
    parts = code.split("_")
    return format_html("_<wbr>".join(["{}"] * len(parts)), *parts)


def short_time(value):
    return (
        format_html('<span style="white-space:nowrap">{}</span>', date_format(localtime(value), "j M, H:i"))
        if value
        else "—"
    )


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(SystemWrittenAdmin):
    list_display = (
        "workspace",
        "status_label",
        "org_id",
        "sf_user",
        "api_usage",
        "refreshed",
        "deferred",
        "last_error_short",
        "health_link",
    )
    list_filter = ("status", "environment")
    search_fields = ("workspace__slug", "workspace__name", "org_id", "org_name", "sf_username")
    fieldsets = (
        (None, {"fields": ("workspace", "environment", "status", "org_id", "org_name", "login_host", "instance_url")}),
        (
            "Connected user",
            {
                "fields": (
                    "sf_user_id",
                    "sf_username",
                    "sf_display_name",
                    "connected_by",
                    "connected_at",
                    "last_refreshed_at",
                )
            },
        ),
        (
            "Settings",
            {
                "fields": (
                    "object_scope",
                    "note_type",
                    "note_type_chosen",
                    "cancel_behaviour",
                    "no_match_behaviour",
                    "missing_permissions",
                    "reads_all_events",
                )
            },
        ),
        (
            "Health",
            {
                "fields": (
                    "health_link",
                    "api_usage",
                    "api_usage_seen_at",
                    "deferred_until",
                    "deferred_reason",
                    "last_error",
                    "last_error_at",
                    "users_refreshed_at",
                    "drain_lease_until",
                )
            },
        ),
    )
    readonly_fields = tuple(flatten_fieldsets(fieldsets))
    exclude = TOKEN_FIELDS
    actions = ("mark_for_reconnect", "refresh_org_users")

    # Connections are made by the OAuth flow only; support acts on them with the actions.

    def get_urls(self):
        view = self.admin_site.admin_view(self.health_view)
        return [
            path("<int:object_id>/health/", view, name="salesforce_salesforceconnection_health"),
            *super().get_urls(),
        ]

    def health_view(self, request, object_id: int):
        """Sync health for staff: the settings page's section, read-only; retries go through
        the operations list's actions (the link filters it to the group)."""
        connection = get_object_or_404(SalesforceConnection.objects.select_related("workspace"), pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sync health: {connection.workspace}",
            "opts": self.model._meta,
            "original": connection,
            "connection": connection,
            "h": health_views.health_context(workspace=connection.workspace, connection=connection, user=request.user),
            "admin_changelist": reverse("admin:salesforce_syncoperation_changelist"),
        }
        return TemplateResponse(request, "admin/salesforce/health.html", context)

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return format_html(
            '{}<br><span class="quiet">{}</span>', obj.get_status_display(), obj.get_environment_display()
        )

    @admin.display(description="Salesforce user", ordering="sf_username")
    def sf_user(self, obj):
        return obj.sf_username or "—"

    @admin.display(description="refreshed", ordering="last_refreshed_at")
    def refreshed(self, obj):
        return short_time(obj.last_refreshed_at)

    @admin.display(description="deferred to", ordering="deferred_until")
    def deferred(self, obj):
        return short_time(obj.deferred_until)

    @admin.display(description="sync health")
    def health_link(self, obj):
        return format_html(
            '<a href="{}">Sync health</a>', reverse("admin:salesforce_salesforceconnection_health", args=[obj.pk])
        )

    @admin.display(description="API usage")
    def api_usage(self, obj):
        if obj.api_usage_share is None:
            return "—"
        return f"{obj.api_usage_used:,} / {obj.api_usage_total:,} ({obj.api_usage_share:.0%})"

    @admin.display(description="last error", ordering="last_error_at")
    def last_error_short(self, obj):
        return Truncator(obj.last_error).chars(50) or "—"

    @admin.action(description="Mark for reconnect")
    def mark_for_reconnect(self, request, queryset):
        for connection in queryset:
            services.connection_mark_needs_reconnect(
                connection=connection, reason=f"Marked for reconnect by support ({request.user.email})."
            )
        self.message_user(request, f"{queryset.count()} connection(s) marked for reconnect.")

    @admin.action(description="Refresh Salesforce users")
    def refresh_org_users(self, request, queryset):
        for connection in queryset:
            try:
                count = services.org_users_refresh(connection=connection)
            except SalesforceError as exc:
                self.message_user(
                    request, f"{connection}: Salesforce users could not be refreshed: {exc}", messages.ERROR
                )
            else:
                self.message_user(request, f"{connection}: {count} Salesforce users fetched.")


@admin.register(SalesforceUser)
class SalesforceUserAdmin(SystemWrittenAdmin):  # the org's users, cached by "Refresh Salesforce users"
    list_display = ("name", "email", "username", "sf_id", "is_active", "connection", "fetched_at")
    list_filter = ("is_active", "connection__workspace")
    search_fields = ("name", "email", "username", "sf_id")
    list_select_related = ("connection__workspace",)


@admin.register(UserMappingOverride)
class UserMappingOverrideAdmin(admin.ModelAdmin):
    list_display = ("user", "sf_user_id", "connection", "updated_at")
    list_filter = ("connection__workspace",)
    search_fields = ("user__email", "sf_user_id")
    raw_id_fields = ("user",)


@admin.register(LinkPushSetting)
class LinkPushSettingAdmin(admin.ModelAdmin):
    list_display = ("link", "push_enabled", "updated_by", "updated_at")
    list_filter = ("push_enabled", "link__workspace")
    search_fields = ("link__slug", "link__title", "link__owner__email")
    raw_id_fields = ("link", "updated_by")


@admin.register(BookingSync)
class BookingSyncAdmin(SystemWrittenAdmin):
    list_display = ("booking_label", "workspace", "event_state", "event", "who", "what", "pushed", "updated")
    list_filter = ("event_state", "workspace")
    search_fields = (
        "booking__uid",
        "booking__invitee_email",
        "booking__invitee_name",
        "sf_event_id",
        "sf_who_id",
        "sf_what_id",
        "sf_who_name",
        "sf_what_name",
    )
    list_select_related = ("booking", "workspace__salesforce_connection")
    readonly_fields = [f.name for f in BookingSync._meta.fields]

    @admin.display(description="booking", ordering="booking__start_at")
    def booking_label(self, obj):
        return booking_cell(obj.booking)

    def _connection(self, obj):
        return getattr(obj.workspace, "salesforce_connection", None)

    @admin.display(description="pushed", ordering="pushed_at")
    def pushed(self, obj):
        return short_time(obj.pushed_at)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj):
        return short_time(obj.updated_at)

    @admin.display(description="Event", ordering="sf_event_id")
    def event(self, obj):
        return sf_id_link(self._connection(obj), obj.sf_event_id)

    @admin.display(description="contact / lead", ordering="sf_who_name")
    def who(self, obj):
        return sf_id_link(self._connection(obj), obj.sf_who_id, obj.sf_who_name)

    @admin.display(description="opportunity / account", ordering="sf_what_name")
    def what(self, obj):
        return sf_id_link(self._connection(obj), obj.sf_what_id, obj.sf_what_name)


def api_calls_integer(value: float) -> str:
    """An operation's share of its batches' calls, as a whole number ('<1' for a share of a call)."""
    if value and value < 0.5:
        return "<1"
    return f"{value:,.0f}"


class SyncAttemptInline(admin.TabularInline):
    model = SyncAttempt
    extra = 0
    can_delete = False
    fields = (
        "started_at",
        "result_label",
        "duration_ms",
        "batch_size",
        "batch_api_calls",
        "error_code",
        "error_message",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="result")
    def result_label(self, obj):
        # An attempt that leaves its row pending failed in a way worth retrying.
        labels = dict(SyncOperation.State.choices) | {SyncOperation.State.PENDING: "Failed, will be retried"}
        return labels.get(obj.result, obj.result)


@admin.register(SyncOperation)
class SyncOperationAdmin(SystemWrittenAdmin):
    list_display = ("id", "booking_label", "state_label", "attempts", "calls", "code", "salesforce_ids", "updated")
    list_display_links = ("id", "booking_label")
    list_filter = ("state", "kind", "trigger", "workspace", "error_code", "error_kind")
    search_fields = ("booking__uid", "booking__invitee_email", "booking__invitee_name", "error_message", "sf_ids")
    list_select_related = ("booking", "connection")
    list_per_page = 50
    readonly_fields = (
        "workspace",
        "connection",
        "booking",
        "kind",
        "trigger",
        "state",
        "attempts",
        "api_calls",
        "next_attempt_at",
        "claimed_at",
        "sf_ids",
        "outcome",
        "warnings",
        "error_kind",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
        "finished_at",
    )
    exclude = ("claim_token",)
    inlines = (SyncAttemptInline,)
    actions = ("retry_now", "replay")

    # Rows are written by booking changes (or the Replay action); Retry and Replay are the only writes.

    @admin.display(description="booking", ordering="booking__start_at")
    def booking_label(self, obj):
        return booking_cell(obj.booking)

    @admin.display(description="state", ordering="state")
    def state_label(self, obj):
        change = f"{obj.get_trigger_display()}{' (Notes)' if obj.kind == SyncOperation.Kind.RECAP else ''}"
        return format_html('{}<br><span class="quiet">{}</span>', obj.get_state_display(), change)

    @admin.display(description="error code", ordering="error_code")
    def code(self, obj):
        return wrappable_code(obj.error_code)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj):
        return short_time(obj.updated_at)

    @admin.display(description="API calls", ordering="api_calls")
    def calls(self, obj):
        return api_calls_integer(obj.api_calls)

    @admin.display(description="Salesforce ids")
    def salesforce_ids(self, obj):
        ids = [value for value in (obj.sf_ids or {}).values() if isinstance(value, str) and value]
        if not ids:
            return "—"
        return format_html("<br>".join(["{}"] * len(ids)), *(sf_id_link(obj.connection, sf_id) for sf_id in ids))

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        count = admin_actions.operations_retry_now(operation_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"{count} operation(s) will be retried now."
            + (f" {skipped} skipped: only failed, deferred or pending operations can be retried." if skipped else ""),
        )

    @admin.action(description="Replay (send the booking again as a new operation)")
    def replay(self, request, queryset):
        created = admin_actions.operations_replay(operation_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request, f"{len(created)} new operation(s) created: " + ", ".join(f"#{op.pk}" for op in created)
        )
