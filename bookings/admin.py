"""Support staff see every link and booking. Booking times and statuses are read-only here:
changes go through bookings.services (the cancel action below) so that the history is
recorded and listeners such as the Salesforce outbox hear about them."""

from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from . import deletion, services
from .models import AvailabilityRule, Booking, BookingChange, BookingLink


def booking_summary(booking) -> str:
    """How support recognises a booking in any admin list: 'Jane Roe · 3 Dec 2026, 14:00 UTC'."""
    return f"{booking.invitee_name} · {date_format(localtime(booking.start_at), 'j M Y, H:i T')}"


def booking_cell(booking):
    """booking_summary on two lines, for list columns: the name, then the time (no wrap)."""
    return format_html(
        '{}<br><span class="quiet" style="white-space:nowrap">{}</span>',
        booking.invitee_name,
        date_format(localtime(booking.start_at), "j M Y, H:i T"),
    )


class AvailabilityRuleInline(admin.TabularInline):
    model = AvailabilityRule
    extra = 0


@admin.register(BookingLink)
class BookingLinkAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "workspace", "owner", "duration_minutes", "is_default", "created_at"]
    list_filter = ["is_default", "workspace", "duration_minutes"]
    list_select_related = ["workspace", "owner"]
    search_fields = ["title", "slug", "owner__email", "workspace__slug"]
    autocomplete_fields = ["workspace", "owner"]
    date_hierarchy = "created_at"
    inlines = [AvailabilityRuleInline]


CHANGE_FIELDS = ("kind", "previous_start_at", "new_start_at", "reason", "created_at")


class BookingChangeInline(admin.TabularInline):
    model = BookingChange
    fields = CHANGE_FIELDS
    readonly_fields = CHANGE_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["invitee_and_time", "invitee_email", "host", "link", "status", "workspace", "created_at"]
    list_display_links = ["invitee_and_time"]
    list_filter = ["status", "workspace", "host"]
    list_select_related = ["host", "link", "workspace"]
    search_fields = ["uid", "invitee_email", "invitee_name", "host__email"]
    date_hierarchy = "start_at"
    fields = [
        "uid",
        "workspace",
        "link",
        "host",
        "invitee_name",
        "invitee_email",
        "answers",
        "start_at",
        "end_at",
        "status",
        "cancel_reason",
        "cancelled_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "uid",
        "workspace",
        "link",
        "host",
        "start_at",
        "end_at",
        "status",
        "cancel_reason",
        "cancelled_at",
        "created_at",
        "updated_at",
    ]
    inlines = [BookingChangeInline]
    actions = ["cancel_bookings"]

    def has_add_permission(self, request):
        return False  # bookings are made on the public page (or with bookings.services)

    def get_deleted_objects(self, objs, request):
        """Bookings that must not be deleted yet (bookings.deletion) are listed like protected
        objects: the admin explains why and offers no confirm button. The rows other apps write
        for a booking (its emails, sync records) are read-only in the admin, yet go with their
        booking: they don't count as delete permissions the user lacks (the guard above decides
        what must not be deleted)."""
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return to_delete, model_count, set(), list(protected) + deletion.deletion_refusals(objs)

    @admin.display(description="Booking", ordering="start_at")
    def invitee_and_time(self, obj):
        return booking_cell(obj)

    @admin.action(description="Cancel selected bookings (sends the cancellation like the invitee would)")
    def cancel_bookings(self, request, queryset):
        cancelled = 0
        for booking in queryset.exclude(status=Booking.Status.CANCELLED):
            try:
                services.booking_cancel(booking=booking, reason="Cancelled by support.")
            except services.BookingError as error:
                self.message_user(request, f"{booking.uid}: {error.message}", messages.WARNING)
            else:
                cancelled += 1
        self.message_user(request, f"Cancelled {cancelled} booking(s).", messages.SUCCESS)


from . import email_admin  # noqa: E402,F401  (the mail outbox's admin, in its own module)
