"""Recap tests: the webhook secret, and a booking whose invitee Salesforce knows."""

import pytest

from tests.fixtures.factories import make_booking
from tests.notetaker.recap_support import SECRET


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.NOTETAKER_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def booking(link):
    """A meeting with Jane Roe: a Salesforce contact whose account has an open opportunity."""
    return make_booking(link, email="jane.roe@globex.com", name="Jane Roe")
