import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def new_booking_uid() -> str:
    return secrets.token_urlsafe(16)


def new_form_token() -> str:
    return secrets.token_urlsafe(16)


class BookingLink(models.Model):
    workspace = models.ForeignKey("workestra.Workspace", on_delete=models.CASCADE, related_name="booking_links")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_links")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    duration_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    is_default = models.BooleanField(default=False, help_text="The owner's default link.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="booking_link_slug_unique_per_workspace"),
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(is_default=True), name="one_default_link_per_owner"
            ),
        ]
        ordering = ["title"]

    def __str__(self):
        return f"{self.title} ({self.workspace.slug}/{self.slug})"

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def get_public_path(self) -> str:
        return f"/book/{self.workspace.slug}/{self.slug}/"


class AvailabilityRule(models.Model):
    """Working hours on one weekday, in the link owner's time zone."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    link = models.ForeignKey(BookingLink, on_delete=models.CASCADE, related_name="availability")
    weekday = models.IntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="availability_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"

    uid = models.CharField(max_length=32, unique=True, default=new_booking_uid, editable=False)
    workspace = models.ForeignKey("workestra.Workspace", on_delete=models.CASCADE, related_name="bookings")
    link = models.ForeignKey(BookingLink, on_delete=models.PROTECT, related_name="bookings")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_bookings")
    invitee_name = models.CharField(max_length=200)
    invitee_email = models.EmailField(max_length=254)
    answers = models.JSONField(default=dict, blank=True)
    start_at = models.DateTimeField(help_text="UTC")
    end_at = models.DateTimeField(help_text="UTC")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    cancel_reason = models.TextField(blank=True, max_length=2000)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The one-time token of the rendered booking form that made this booking: a second POST of
    # the same form (Back, then Book again) finds this booking instead of making another.
    form_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # The zone the booking page showed the invitee (their device's, or the one they picked):
    # their emails give times in it. Blank: the host's zone.
    invitee_timezone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at"]
        indexes = [
            models.Index(fields=["host", "start_at"]),
            models.Index(fields=["workspace", "start_at"]),
        ]

    def __str__(self):
        return f"{self.invitee_name} with {self.host} at {self.start_at:%Y-%m-%d %H:%M} UTC"

    def get_absolute_url(self) -> str:
        return f"/bookings/{self.uid}/"

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.CANCELLED

    @property
    def duration_minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)

    def get_public_url(self) -> str:
        """The invitee's page: whoever has this address can reschedule or cancel."""
        return f"{settings.PUBLIC_BASE_URL}{self.get_absolute_url()}"

    def get_member_path(self) -> str:
        """The page a workspace member opens; it needs a sign-in and carries no capability, so
        this is the address written into other systems (Salesforce)."""
        return f"/calendar/bookings/{self.pk}/"

    def get_member_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}{self.get_member_path()}"


class BookingChange(models.Model):
    """The booking's history: created, each reschedule (from → to), cancellation."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    previous_start_at = models.DateTimeField(null=True, blank=True)
    new_start_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.booking.uid}"


class BookingEmail(models.Model):
    """One email about a booking change: the mail outbox.

    Written in the booking's transaction with its text and calendar attachment already
    rendered (it says what happened at that moment), then sent after commit by a task; a
    failed send is retried with backoff and the beat sweep picks up rows whose task was lost,
    so a mail server outage delays mail and never loses it.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"

    class Recipient(models.TextChoices):
        INVITEE = "invitee", "Invitee"
        HOST = "host", "Host"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    to_address = models.EmailField(max_length=254)
    reply_to = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    ics = models.TextField(help_text="The text/calendar attachment (RFC 5545).")
    ics_method = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a task sends the row: another task (or the sweep) leaves it alone until then.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} email to the {self.recipient} of booking {self.booking_id}"
