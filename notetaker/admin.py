"""Support staff see each recap, its action items, its CRM notes and its push state.
Read-only: recaps change through the notetaker or the host's edit (notetaker.services), so
the change time that decides "edited since the last push" stays true. The push operations
themselves are in the CRM's admin (for Salesforce: SyncOperation)."""

from django.contrib import admin
from django.utils.html import format_html

from bookings.admin import booking_cell

from . import hooks
from .models import ActionItem, Recap, RecapDelivery, RecapNoteLink


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class ActionItemInline(ReadOnlyInline):
    model = ActionItem
    fields = ["position", "text", "assignee", "due_date"]


class RecapNoteLinkInline(ReadOnlyInline):
    model = RecapNoteLink
    fields = [
        "target",
        "note_type",
        "parent_id",
        "note_id",
        "attachment_id",
        "create_sent_at",
        "create_sent_title",
        "pushed_at",
    ]


class RecapDeliveryInline(ReadOnlyInline):
    model = RecapDelivery
    fields = ["received_at", "key", "response_status"]


@admin.register(Recap)
class RecapAdmin(admin.ModelAdmin):
    list_display = ["booking_label", "workspace", "updated_at", "source", "note_ids", "push_state"]
    list_filter = ["source", "booking__workspace"]
    list_select_related = ["booking__workspace"]
    search_fields = ["booking__uid", "booking__invitee_email", "booking__invitee_name"]
    fields = ["booking", "summary", "source", "edited_by", "content_changed_at", "created_at", "updated_at"]
    inlines = [ActionItemInline, RecapNoteLinkInline, RecapDeliveryInline]
    date_hierarchy = "updated_at"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("note_links")
        destination = hooks.destination()
        return destination.annotate_push_state(queryset) if destination else queryset

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # written by the notetaker and the host's edit; deleting the booking removes it

    @admin.display(description="Booking", ordering="booking__start_at")
    def booking_label(self, obj):
        return booking_cell(obj.booking)

    @admin.display(description="Workspace", ordering="booking__workspace__slug")
    def workspace(self, obj):
        return obj.booking.workspace

    @admin.display(description="CRM notes")
    def note_ids(self, obj):
        links = [link for link in obj.note_links.all() if link.note_id]
        if not links:
            return "—"
        destination = hooks.destination()
        cells = [
            (link.get_target_display(), destination.note_link(obj, link.note_id) if destination else link.note_id)
            for link in links
        ]
        return format_html("<br>".join(["{}: {}"] * len(cells)), *(part for cell in cells for part in cell))

    @admin.display(description="Push state", ordering="latest_push_state")
    def push_state(self, obj):
        state = getattr(obj, "latest_push_state", None)
        destination = hooks.destination()
        if not state or destination is None:
            return "never pushed"
        return destination.push_state_label(state)
