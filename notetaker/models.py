"""Meeting recaps from the notetaker: one per booking, with its action items, the webhook
deliveries that wrote it, and the CRM Notes it was pushed as."""

from django.conf import settings
from django.db import models

SUMMARY_MAX_CHARS = 100_000
ACTION_ITEMS_MAX = 100
ACTION_TEXT_MAX_CHARS = 2_000
ASSIGNEE_MAX_CHARS = 200


class Recap(models.Model):
    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Notetaker"
        EDITED = "edited", "Edited by a member"

    booking = models.OneToOneField("bookings.Booking", on_delete=models.CASCADE, related_name="recap")
    summary = models.TextField(max_length=SUMMARY_MAX_CHARS)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the summary or action items last changed (a delivery that changes nothing keeps it).
    content_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return f"Recap of {self.booking.uid}"


class ActionItem(models.Model):
    recap = models.ForeignKey(Recap, on_delete=models.CASCADE, related_name="action_items")
    position = models.PositiveIntegerField()
    text = models.TextField(max_length=ACTION_TEXT_MAX_CHARS)
    assignee = models.CharField(max_length=ASSIGNEE_MAX_CHARS, blank=True)
    due_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text[:60]


class RecapDelivery(models.Model):
    """One webhook delivery, kept so a replay gets the first answer back and changes nothing.

    `key` is "key:<Idempotency-Key>", else "recap_id:<recap_id>:<body sha256>", else
    "body:<body sha256>": a re-sent delivery has the same key; a revised recap has a new one."""

    key = models.CharField(max_length=400, unique=True)
    body_sha256 = models.CharField(max_length=64)
    recap = models.ForeignKey(Recap, on_delete=models.CASCADE, related_name="deliveries")
    response_status = models.PositiveSmallIntegerField()
    # The first answer, byte for byte (a JSON column could reorder its keys on PostgreSQL).
    response_body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.key[:40]} → {self.response_status}"


class RecapNoteLink(models.Model):
    """A Note in the connected CRM that holds this recap: one on the person (contact or
    lead), one on the deal. A re-push updates the Note named here; it never adds another."""

    class Target(models.TextChoices):
        PERSON = "person", "Contact or lead"
        DEAL = "deal", "Deal (opportunity)"

    class NoteType(models.TextChoices):
        CLASSIC = "classic", "Classic note (one per record)"
        ENHANCED = "enhanced", "Enhanced note (one note, linked to each record)"

    recap = models.ForeignKey(Recap, on_delete=models.CASCADE, related_name="note_links")
    target = models.CharField(max_length=16, choices=Target.choices)
    note_type = models.CharField(max_length=16, choices=NoteType.choices, default=NoteType.CLASSIC)
    # Ids mean nothing in another org: after a workspace connects a different org, these are forgotten.
    org_id = models.CharField("CRM org", max_length=18, blank=True)
    parent_id = models.CharField("record the Note is attached to", max_length=18)
    note_id = models.CharField(max_length=18, blank=True, db_index=True)
    # An enhanced note is one record shared by both targets; each target's row names the link
    # that attaches it to its record (Salesforce's ContentDocumentLink).
    attachment_id = models.CharField("link to the record", max_length=18, blank=True)
    # Set just before a create is sent and cleared once its outcome is known: while set, the
    # Note may exist without us knowing its id, and must be looked for before creating again.
    create_sent_at = models.DateTimeField(null=True, blank=True)
    create_sent_title = models.CharField(max_length=80, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recap", "target"], name="one_note_per_recap_target")]
        ordering = ["recap_id", "-target"]  # the person's Note first

    def __str__(self):
        return f"{self.get_target_display()}: {self.note_id or 'not created'}"
