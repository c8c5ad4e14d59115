"""The mail outbox in Django admin: read-only rows the system writes, and "Send again now"."""

from django.contrib import admin, messages
from django.utils import timezone

from .emails import enqueue_send
from .models import BookingEmail


@admin.register(BookingEmail)
class BookingEmailAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "booking",
        "kind",
        "recipient",
        "to_address",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "kind", "recipient"]
    list_select_related = ["booking__host"]
    search_fields = ["to_address", "booking__invitee_email"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in BookingEmail._meta.fields]
    actions = ["send_again_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the view page still shows every field

    @admin.action(description="Send again now (pending and failed rows)", permissions=["view"])
    def send_again_now(self, request, queryset):
        rows = queryset.exclude(state=BookingEmail.State.SENT)
        ids = list(rows.values_list("pk", flat=True))
        rows.update(state=BookingEmail.State.PENDING, next_attempt_at=timezone.now(), lease_until=None)
        queued = sum(enqueue_send(pk) for pk in ids)
        self.message_user(
            request, f"Queued {queued} of {len(ids)} email(s); the sweep sends the rest.", messages.SUCCESS
        )
