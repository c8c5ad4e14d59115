"""Fixtures of the security suite (helpers are in security_support.py)."""

import pytest

from tests.security.security_support import UNREACHABLE, WEBHOOK_SECRET, build_world


@pytest.fixture
def hermetic_settings(settings):
    """No request of this suite can leave the machine: OAuth hosts refuse connections, and the
    webhook has a known secret."""
    settings.SALESFORCE_LOGIN_URL = UNREACHABLE
    settings.SALESFORCE_SANDBOX_LOGIN_URL = UNREACHABLE + "/sandbox"
    settings.SALESFORCE_CLIENT_ID = "security-suite-client"
    settings.SALESFORCE_CLIENT_SECRET = "security-suite-client-secret"
    settings.SALESFORCE_HTTP_TIMEOUT = 2
    settings.NOTETAKER_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    return settings


@pytest.fixture
def world(db, hermetic_settings):
    return build_world()
