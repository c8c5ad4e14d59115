"""Production settings: `check --deploy` is clean, and nothing of development leaks in
(no DEBUG, no emulator client, no default keys or webhook secret)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]


def production_env(**overrides) -> dict[str, str]:
    """A realistic production environment and nothing else (no test or developer variables)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "workestra.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "app.workestra.example",
        "PUBLIC_BASE_URL": "https://app.workestra.example",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://workestra:placeholder@db.invalid:5432/workestra",
        "REDIS_URL": "redis://redis.invalid:6379/0",
        "WORKESTRA_VAR_DIR": "/tmp/workestra-security-deploy-check",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )  # nosec B603


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_LOGIN_URL", "SALESFORCE_SANDBOX_LOGIN_URL",
    "NOTETAKER_WEBHOOK_SECRET", "TOKEN_ENCRYPTION_KEYS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "ADMINS")}))
"""


def test_production_has_no_development_defaults():
    # DJANGO_DEBUG=1 must not switch DEBUG on in production.
    env = production_env(DJANGO_DEBUG="1")
    result = run(["-c", PRINT_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)

    assert values["DEBUG"] is False
    assert values["SALESFORCE_CLIENT_ID"] == "" and values["SALESFORCE_CLIENT_SECRET"] == ""
    assert values["SALESFORCE_LOGIN_URL"] == "https://login.salesforce.com"
    assert values["SALESFORCE_SANDBOX_LOGIN_URL"] == "https://test.salesforce.com"
    assert values["NOTETAKER_WEBHOOK_SECRET"] == ""  # the webhook answers 503 until one is set
    assert values["TOKEN_ENCRYPTION_KEYS"] == [env["TOKEN_ENCRYPTION_KEYS"]]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    # Error mails would carry frame locals (see SECURITY.md S-2): none are configured.
    assert values["ADMINS"] == []


@pytest.mark.parametrize(
    "missing,message",
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY must be set"),
        ("TOKEN_ENCRYPTION_KEYS", "TOKEN_ENCRYPTION_KEYS must be set"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(missing, message):
    result = run(["manage.py", "check"], production_env(**{missing: None}))
    assert result.returncode != 0
    assert message in result.stderr
