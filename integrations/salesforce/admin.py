"""Support's view of every connection and every sync operation. Token columns never appear:
not in lists, forms, read-only fields, search or filters."""
from django.contrib import admin, messages
from django.utils.text import Truncator

from . import admin_actions, services
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


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "workspace", "environment", "org_id", "sf_username", "status", "last_refreshed_at", "api_usage", "deferred_until", "last_error_short",
    )
    list_filter = ("status", "environment")
    search_fields = ("workspace__slug", "workspace__name", "org_id", "org_name", "sf_username")
    fieldsets = (
        (None, {"fields": ("workspace", "environment", "status", "org_id", "org_name", "login_host", "instance_url")}),
        ("Connected user", {"fields": ("sf_user_id", "sf_username", "sf_display_name", "connected_by", "connected_at", "last_refreshed_at")}),
        ("Settings", {"fields": ("object_scope", "note_type", "note_type_chosen", "cancel_behaviour", "no_match_behaviour", "missing_permissions", "reads_all_events")}),
        ("Health", {"fields": ("api_usage", "api_usage_seen_at", "deferred_until", "deferred_reason", "last_error", "last_error_at", "users_refreshed_at", "drain_lease_until")}),
    )
    readonly_fields = tuple(name for _, group in fieldsets for name in group["fields"])
    exclude = TOKEN_FIELDS
    actions = ("mark_for_reconnect", "refresh_org_users")

    def has_add_permission(self, request):
        return False  # connections are made by the OAuth flow only

    @admin.display(description="API usage seen")
    def api_usage(self, obj):
        if obj.api_usage_share is None:
            return "—"
        return f"{obj.api_usage_used:,} / {obj.api_usage_total:,} ({obj.api_usage_share:.0%})"

    @admin.display(description="last error", ordering="last_error_at")
    def last_error_short(self, obj):
        return Truncator(obj.last_error).chars(80) or "—"

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
                self.message_user(request, f"{connection}: Salesforce users could not be refreshed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{connection}: {count} Salesforce users fetched.")


@admin.register(SalesforceUser)
class SalesforceUserAdmin(admin.ModelAdmin):
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
class BookingSyncAdmin(admin.ModelAdmin):
    list_display = ("booking_uid", "workspace", "event_state", "sf_event_id", "sf_owner_id", "sf_who_id", "sf_what_id", "pushed_at")
    list_filter = ("event_state", "workspace")
    search_fields = ("booking__uid", "sf_event_id")
    list_select_related = ("booking", "workspace")
    readonly_fields = [f.name for f in BookingSync._meta.fields]

    @admin.display(description="booking", ordering="booking__uid")
    def booking_uid(self, obj):
        return obj.booking.uid


class SyncAttemptInline(admin.TabularInline):
    model = SyncAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "result", "duration_ms", "batch_size", "batch_api_calls", "error_code", "error_message")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SyncOperation)
class SyncOperationAdmin(admin.ModelAdmin):
    list_display = ("id", "workspace", "booking_uid", "kind", "trigger", "state", "attempts", "api_calls", "error_code", "sf_ids", "updated_at")
    list_filter = ("state", "kind", "workspace", "error_code", "error_kind")
    search_fields = ("booking__uid", "error_message", "sf_ids")
    list_select_related = ("workspace", "booking")
    readonly_fields = (
        "workspace", "connection", "booking", "kind", "trigger", "state", "attempts", "api_calls", "next_attempt_at",
        "claimed_at", "sf_ids", "outcome", "warnings", "error_kind", "error_code", "error_message", "created_at",
        "updated_at", "finished_at",
    )
    exclude = ("claim_token",)
    inlines = (SyncAttemptInline,)
    actions = ("retry_now", "replay")

    def has_add_permission(self, request):
        return False  # rows are written by booking changes (or the Replay action)

    @admin.display(description="booking", ordering="booking__uid")
    def booking_uid(self, obj):
        return obj.booking.uid

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
        self.message_user(request, f"{len(created)} new operation(s) created: " + ", ".join(f"#{op.pk}" for op in created))
