"""The Salesforce integration's state: one connection per workspace, the org's users, the
mapping overrides, per-link toggles, per-booking sync records and the outbox."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .crypto import EncryptedTextField


class SalesforceConnection(models.Model):
    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        SANDBOX = "sandbox", "Sandbox"

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    class ObjectScope(models.TextChoices):
        EVENTS = "events", "Events only"
        EVENTS_AND_NOTES = "events_notes", "Events + Notes (for recap push)"

    class CancelBehaviour(models.TextChoices):
        DELETE = "delete", "Delete the Event"
        MARK_CLOSED = "mark_closed", "Keep the Event, marked cancelled"

    class NoteType(models.TextChoices):
        ENHANCED = "enhanced", "Enhanced Notes (ContentNote: the Notes list in Lightning)"
        CLASSIC = "classic", 'Classic Notes (Note: "Notes & Attachments")'

    class NoMatchBehaviour(models.TextChoices):
        CREATE = "create", "Create the Event without a contact or lead"
        SKIP = "skip", "Skip the booking"

    workspace = models.OneToOneField(
        "workestra.Workspace", on_delete=models.CASCADE, related_name="salesforce_connection"
    )
    environment = models.CharField(max_length=16, choices=Environment.choices, default=Environment.PRODUCTION)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISCONNECTED)
    instance_url = models.URLField(blank=True)
    # A My Domain (or listed extra) login host; blank = the environment's default login URL.
    # Authorize, token, refresh and revoke all go to this one host.
    login_host = models.CharField(max_length=255, blank=True)
    identity_url = models.URLField(blank=True)
    org_id = models.CharField(max_length=18, blank=True)
    org_name = models.CharField(max_length=255, blank=True)
    sf_user_id = models.CharField("connected Salesforce user id", max_length=18, blank=True)
    sf_username = models.CharField("connected Salesforce user", max_length=255, blank=True)
    sf_display_name = models.CharField(max_length=255, blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Token refresh without a lock across HTTP: a process claims the refresh (a lease, written
    # in its own short transaction), calls Salesforce outside any transaction, then saves the
    # new tokens only if token_version is still the one it claimed (compare-and-set).
    token_version = models.PositiveIntegerField(default=0)
    token_refresh_claim = models.CharField(max_length=32, blank=True)
    token_refresh_until = models.DateTimeField(null=True, blank=True)

    object_scope = models.CharField(max_length=16, choices=ObjectScope.choices, default=ObjectScope.EVENTS)
    cancel_behaviour = models.CharField(max_length=16, choices=CancelBehaviour.choices, default=CancelBehaviour.DELETE)
    no_match_behaviour = models.CharField(
        max_length=16, choices=NoMatchBehaviour.choices, default=NoMatchBehaviour.CREATE
    )
    note_type = models.CharField(max_length=16, choices=NoteType.choices, default=NoteType.ENHANCED)
    # Until an admin saves a note type, each permission check picks the default: Enhanced Notes
    # where the org lets the connected user create ContentNote, else classic Notes.
    note_type_chosen = models.BooleanField(default=False)
    missing_permissions = models.JSONField(default=list, blank=True)
    # Whether the connected user can read every Event (View All Data): without it, an Event
    # the user can't see can't be found when an unknown outcome is reconciled. None = unknown.
    reads_all_events = models.BooleanField(null=True, blank=True)

    api_usage_used = models.PositiveIntegerField(null=True, blank=True)
    api_usage_total = models.PositiveIntegerField(null=True, blank=True)
    api_usage_seen_at = models.DateTimeField(null=True, blank=True)
    deferred_until = models.DateTimeField(null=True, blank=True)
    deferred_reason = models.TextField(blank=True)

    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    users_refreshed_at = models.DateTimeField(null=True, blank=True)

    # One drain at a time per connection: a lease that expires if its worker dies.
    drain_lease_token = models.CharField(max_length=32, blank=True)
    drain_lease_until = models.DateTimeField(null=True, blank=True)
    # At most one wake-up per connection: the one drain task queued for it (its token) and when
    # it is due. A commit, a backoff or the sweep only enqueues a task when none is scheduled
    # (or an earlier one is needed); the drain clears it when it takes the lease.
    drain_wake_token = models.CharField(max_length=32, blank=True)
    drain_wake_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"Salesforce {self.get_environment_display()} for {self.workspace}"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    @property
    def needs_reconnect(self) -> bool:
        return self.status == self.Status.NEEDS_RECONNECT

    @property
    def pushes_notes(self) -> bool:
        return self.object_scope == self.ObjectScope.EVENTS_AND_NOTES

    @property
    def uses_enhanced_notes(self) -> bool:
        return self.note_type == self.NoteType.ENHANCED

    @property
    def api_usage_share(self) -> float | None:
        if not self.api_usage_total:
            return None
        return (self.api_usage_used or 0) / self.api_usage_total

    @property
    def is_deferred(self) -> bool:
        return bool(self.deferred_until and self.deferred_until > timezone.now())


class SalesforceUser(models.Model):
    """The org's users, cached: mapping and Event owners never cost an API call per push."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="org_users")
    sf_id = models.CharField(max_length=18)
    username = models.CharField(max_length=255)
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "sf_id"], name="sf_user_unique_per_connection")]
        ordering = ["name", "email"]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class UserMappingOverride(models.Model):
    """An admin's choice of SFDC user for a member whose emails differ."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="mapping_overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sf_user_id = models.CharField(max_length=18)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "user"], name="one_override_per_member")]

    def __str__(self):
        return f"{self.user} → {self.sf_user_id}"


class LinkPushSetting(models.Model):
    """The per-link "Push to Salesforce" toggle. No row means on (the default)."""

    link = models.OneToOneField("bookings.BookingLink", on_delete=models.CASCADE, related_name="salesforce_setting")
    push_enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.link}: push {'on' if self.push_enabled else 'off'}"


class BookingSync(models.Model):
    """A booking's Salesforce Event. It exists from the moment a booking was chosen to be
    pushed; that choice is never re-made, which is what keeps a pushed booking in step
    after its link's toggle is turned off."""

    class EventState(models.TextChoices):
        NONE = "none", "Not in Salesforce"
        LIVE = "live", "Event in Salesforce"
        CLOSED = "closed", "Event marked cancelled"
        DELETED = "deleted", "Event deleted"

    booking = models.OneToOneField("bookings.Booking", on_delete=models.CASCADE, related_name="salesforce_sync")
    workspace = models.ForeignKey("workestra.Workspace", on_delete=models.CASCADE, related_name="+")
    event_state = models.CharField(max_length=16, choices=EventState.choices, default=EventState.NONE)
    sf_event_id = models.CharField(max_length=18, blank=True, db_index=True)
    sf_owner_id = models.CharField(max_length=18, blank=True)
    sf_who_id = models.CharField(max_length=18, blank=True)
    sf_what_id = models.CharField(max_length=18, blank=True)
    # The matched records' names as Salesforce had them at the push, so pages show "Jane Roe"
    # rather than an id without an API call per page view.
    sf_who_name = models.CharField(max_length=255, blank=True)
    sf_what_name = models.CharField(max_length=255, blank=True)
    pushed_start_at = models.DateTimeField(null=True, blank=True)
    match_explanation = models.TextField(blank=True)
    warnings = models.TextField(blank=True)
    # Set just before an Event create is sent and cleared once its outcome is known: if it is
    # still set, a create may have reached Salesforce and must be reconciled before a retry.
    create_sent_at = models.DateTimeField(null=True, blank=True)
    create_sent_start_at = models.DateTimeField(null=True, blank=True)
    create_sent_owner_id = models.CharField(max_length=18, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.booking.uid}: {self.get_event_state_display()} {self.sf_event_id}".strip()


class SyncOperation(models.Model):
    """The outbox: a row per change to send, written in the change's own transaction."""

    class Kind(models.TextChoices):
        BOOKING = "booking", "Booking → Event"
        RECAP = "recap", "Recap → Notes"

    class Trigger(models.TextChoices):
        CONFIRMED = "confirmed", "Booking confirmed"
        RESCHEDULED = "rescheduled", "Booking rescheduled"
        CANCELLED = "cancelled", "Booking cancelled"
        BACKFILL = "backfill", "Existing booking pushed after connect"
        RECAP = "recap", "Recap pushed"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "Sending"
        PUSHED = "pushed", "Pushed"
        SKIPPED = "skipped", "Skipped"
        COALESCED = "coalesced", "Nothing to send"
        WAITING_RECONNECT = "waiting_reconnect", "Waiting for reconnect"
        DEFERRED = "deferred", "Deferred for API limits"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.PENDING, State.IN_PROGRESS, State.WAITING_RECONNECT, State.DEFERRED)

    workspace = models.ForeignKey("workestra.Workspace", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="operations")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="salesforce_operations")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BOOKING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    api_calls = models.FloatField(default=0, help_text="This operation's share of the API calls of its batches.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sf_ids = models.JSONField(default=dict, blank=True)
    outcome = models.TextField(blank=True, help_text="What happened, in plain words.")
    warnings = models.TextField(blank=True)
    error_kind = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=64, blank=True, db_index=True)
    error_message = models.TextField(blank=True, help_text="Salesforce's message, verbatim.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["connection", "state", "next_attempt_at"]),
            models.Index(fields=["booking", "kind", "state"]),
            # The hot queries, each on a small partial index: the claim and the coalescing
            # window (pending rows of one connection by due time), the sweep (due rows of every
            # connection; stranded in-progress rows), the settings page's last errors, the prune.
            models.Index(
                fields=["next_attempt_at", "connection"],
                condition=Q(state="pending"),
                name="sf_op_pending_due",
            ),
            models.Index(fields=["connection"], condition=Q(state="in_progress"), name="sf_op_in_progress"),
            models.Index(
                fields=["connection", "-updated_at"],
                condition=Q(state="failed") | ~Q(error_message=""),
                name="sf_op_recent_errors",
            ),
            models.Index(
                fields=["finished_at"],
                condition=Q(finished_at__isnull=False),
                name="sf_op_finished",
            ),
            # Sync health, per workspace, each read index-only: counts and API calls per day and
            # state, outbox lag and booking → Event times (the first); failed rows grouped by
            # error code with their bookings (the second); the latest errors (the third).
            models.Index(
                fields=["workspace", "state", "created_at", "api_calls", "trigger", "finished_at"],
                name="sfop_health_state_created",
            ),
            models.Index(fields=["workspace", "state", "error_code", "booking"], name="sfop_health_state_code"),
            models.Index(fields=["workspace", "state", "updated_at"], name="sfop_health_state_updated"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.get_trigger_display()} [{self.state}]"


class SyncAttempt(models.Model):
    """Every attempt at an operation, as Saleor records webhook deliveries."""

    operation = models.ForeignKey(SyncOperation, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=1)
    batch_api_calls = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=20)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{self.operation_id} {self.result} at {self.started_at:%H:%M:%S}"
