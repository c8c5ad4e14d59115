"""The window rule for lost creates: within SALESFORCE_RECONCILE_WINDOW_SECONDS of sending, a
retry only looks for the note; after it, the note may be created."""
from datetime import timedelta

from django.utils import timezone

from integrations.salesforce.notes import WAITING_FOR_LATE_COMMIT, reconcile_window_end, reconcile_window_open


def test_the_window_is_open_until_its_length_has_passed_since_the_create_was_sent(settings):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 900
    now = timezone.now()

    assert reconcile_window_open(now - timedelta(seconds=899))
    assert not reconcile_window_open(now - timedelta(seconds=901))
    assert not reconcile_window_open(None)  # nothing was sent
    assert reconcile_window_end(now) == now + timedelta(seconds=900)


def test_a_zero_window_never_waits(settings):
    settings.SALESFORCE_RECONCILE_WINDOW_SECONDS = 0

    assert not reconcile_window_open(timezone.now())


def test_the_default_is_longer_than_a_salesforce_transaction_can_live():
    from django.conf import settings

    assert settings.SALESFORCE_RECONCILE_WINDOW_SECONDS == 900 > 10 * 60


def test_the_waiting_outcome_says_until_when():
    until = timezone.now().replace(hour=10, minute=15, second=0)
    assert "only looks for that note until 10:15:00 UTC" in WAITING_FOR_LATE_COMMIT.format(until=until)
