"""Production refuses to start without an https PUBLIC_BASE_URL (issue 12 item 14): it is the
OAuth redirect URI and the base of every link written to Salesforce."""

import pytest

from tests.security.test_security_deploy import production_env, run

MESSAGE = "PUBLIC_BASE_URL must be set in production to the https:// address"


@pytest.mark.parametrize("value", [None, "", "http://app.workestra.example", "https://", "app.workestra.example"])
def test_production_refuses_to_start_without_an_https_public_base_url(value):
    result = run(["manage.py", "check"], production_env(PUBLIC_BASE_URL=value))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and MESSAGE in result.stderr


def test_production_starts_with_an_https_public_base_url():
    result = run(["manage.py", "check"], production_env(PUBLIC_BASE_URL="https://app.workestra.example"))

    assert result.returncode == 0, result.stderr


def test_production_refuses_the_public_development_token_key():
    from workestra.settings.base import DEVELOPMENT_TOKEN_KEY

    result = run(["manage.py", "check"], production_env(TOKEN_ENCRYPTION_KEYS=f"{DEVELOPMENT_TOKEN_KEY}"))

    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS holds the public development key" in result.stderr
