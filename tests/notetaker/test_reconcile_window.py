"""The window rule for lost creates, shared by Events and Notes (integrations.salesforce.reconcile):
within SALESFORCE_RECONCILE_WINDOW_SECONDS of sending, a retry only looks; after it, it may create."""

from datetime import timedelta

from django.utils import timezone

from integrations.salesforce import reconcile


def test_the_window_is_open_until_its_length_has_passed_since_the_create_was_sent(settings):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 900
    now = timezone.now()

    assert not reconcile.may_create_again(now - timedelta(seconds=899), now=now)
    assert reconcile.may_create_again(now - timedelta(seconds=901), now=now)
    assert reconcile.window_ends_at(now) == now + timedelta(seconds=900)


def test_a_zero_window_never_waits(settings):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 0

    assert reconcile.may_create_again(timezone.now())


def test_the_default_is_longer_than_a_salesforce_request_can_live():
    from django.conf import settings

    assert settings.SALESFORCE_RECONCILE_WINDOW_SECONDS == 900 > 10 * 60


def test_the_waiting_outcome_names_the_note_and_says_until_when(settings):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 900
    sent = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)

    message = reconcile.waiting_message(sent, record="note")

    assert (
        "no note has appeared yet" in message
        and "until " + f"{sent + timedelta(seconds=900):%Y-%m-%d} 10:15:00 UTC" in message
    )
