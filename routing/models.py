"""Routing forms: questions an invitee answers, and ordered routes that pick where they go.

A route's conditions are a small JSON list (``[{"question": key, "operator": ..., "value": ...}]``,
all must hold) so a form's questions and routes are saved together in one go. Submissions keep
a copy of what happened in plain words; they never point at routes, which a save replaces.
"""

from django.conf import settings
from django.db import models


class RoutingForm(models.Model):
    workspace = models.ForeignKey("workestra.Workspace", on_delete=models.CASCADE, related_name="routing_forms")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="routing_form_slug_unique_per_workspace")
        ]
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.workspace.slug}/{self.slug})"

    def get_public_path(self) -> str:
        return f"/forms/{self.workspace.slug}/{self.slug}/"


class Question(models.Model):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", "Short text"
        EMAIL = "email", "Email"
        SINGLE_CHOICE = "single_choice", "Single choice"

    form = models.ForeignKey(RoutingForm, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=50, help_text="The answer's field name, e.g. email or company.")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SHORT_TEXT)
    required = models.BooleanField(default=False)
    options = models.JSONField(default=list, blank=True, help_text="Single choice only: the choices, in order.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="question_key_unique_per_form")]

    def __str__(self):
        return f"{self.label} ({self.key})"


class Route(models.Model):
    class Action(models.TextChoices):
        BOOKING_LINK = "booking_link", "Go to a booking link"
        MESSAGE = "message", "Show a message"
        SALESFORCE_LOOKUP = "salesforce_lookup", "Salesforce lookup (the record owner's default link)"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        CONTAINS = "contains", "contains"
        ANY_OF = "any_of", "is any of"

    form = models.ForeignKey(RoutingForm, on_delete=models.CASCADE, related_name="routes")
    position = models.PositiveSmallIntegerField(default=0)
    conditions = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    # SET_NULL: deleting a link must not be blocked by a form; the builder then flags the
    # route and a submission that reaches it goes to the fallback.
    link = models.ForeignKey(
        "bookings.BookingLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="routing_routes"
    )
    message = models.TextField(blank=True, max_length=2000)
    is_fallback = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form"], condition=models.Q(is_fallback=True), name="one_fallback_per_form")
        ]

    def __str__(self):
        return f"{'Fallback' if self.is_fallback else f'Route {self.position}'}: {self.get_action_display()}"


class Submission(models.Model):
    form = models.ForeignKey(RoutingForm, on_delete=models.CASCADE, related_name="submissions")
    answers = models.JSONField(default=dict)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)

    # The route whose conditions matched ("Fallback" when none did); used_fallback says whether
    # the invitee went to the fallback's destination instead (and fallback_reason why).
    route_label = models.CharField(max_length=40, help_text="'Route 2', or 'Fallback' when no route matched.")
    route_action = models.CharField(max_length=20, choices=Route.Action.choices)
    explanation = models.TextField(blank=True, help_text="Why the invitee went where they went.")
    used_fallback = models.BooleanField(default=False)
    fallback_reason = models.TextField(blank=True)
    destination = models.CharField(max_length=1000, blank=True, help_text="The booking page the invitee was sent to.")
    link = models.ForeignKey(
        "bookings.BookingLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="routing_submissions"
    )
    message = models.TextField(blank=True)

    owner_source = models.CharField(max_length=20, blank=True, help_text="contact, lead or account_domain")
    owner_sf_id = models.CharField("Salesforce owner id", max_length=18, blank=True)
    owner_name = models.CharField(max_length=255, blank=True)
    owner_email = models.CharField(max_length=254, blank=True)
    sf_record_id = models.CharField(max_length=18, blank=True)
    sf_record_name = models.CharField(max_length=255, blank=True)
    owner_member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_calls = models.PositiveIntegerField(default=0)
    lookup_cached = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["form", "-created_at"])]

    def __str__(self):
        return f"{self.email or 'anonymous'} → {self.route_label} ({self.created_at:%Y-%m-%d %H:%M})"
