"""Local development and the demo: SQLite and the embedded broker unless told otherwise,
and the local Salesforce emulator's OAuth client. None of these defaults exist in production."""

import os

from .base import *  # noqa: F401,F403
from .base import VAR_DIR, env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = SECRET_KEY or "local-development-only-not-a-secret"  # noqa: F405

# The emulator (python -m sfdc_emulator) ships this client; staging-only defaults.
SALESFORCE_CLIENT_ID = os.environ.get("SALESFORCE_CLIENT_ID", "workestra-local-client")
SALESFORCE_CLIENT_SECRET = os.environ.get("SALESFORCE_CLIENT_SECRET", "workestra-local-secret")
SALESFORCE_LOGIN_URL = os.environ.get("SALESFORCE_LOGIN_URL", "https://127.0.0.1:8443").rstrip("/")
SALESFORCE_SANDBOX_LOGIN_URL = os.environ.get("SALESFORCE_SANDBOX_LOGIN_URL", "https://127.0.0.1:8443/sandbox").rstrip(
    "/"
)
# The demo's emulator answers on localhost too, which the connect form then accepts as a
# custom (My Domain-like) login host.
SALESFORCE_EXTRA_LOGIN_HOSTS = SALESFORCE_EXTRA_LOGIN_HOSTS or ["127.0.0.1:8443", "localhost:8443"]  # noqa: F405
TOKEN_ENCRYPTION_KEYS = TOKEN_ENCRYPTION_KEYS or [DEVELOPMENT_TOKEN_KEY]  # noqa: F405
NOTETAKER_WEBHOOK_SECRET = os.environ.get("NOTETAKER_WEBHOOK_SECRET", "local-notetaker-secret")
# The demo writes each email (with its invite.ics) as a file instead of needing a mail server.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
