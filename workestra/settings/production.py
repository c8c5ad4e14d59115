"""Production: everything from the environment; no development defaults, no emulator client."""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import DEVELOPMENT_TOKEN_KEY, SECRET_KEY, TOKEN_ENCRYPTION_KEYS, env_bool

DEBUG = False
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
if not TOKEN_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS must be set in production (comma-separated Fernet keys).")
if DEVELOPMENT_TOKEN_KEY in TOKEN_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS holds the public development key; generate a key of your own.")

# It becomes the OAuth redirect URI and every link written to Salesforce: the development
# default (http://127.0.0.1:8000) would break sign-in to Salesforce and leak into CRM records.
_public_url = urlsplit(os.environ.get("PUBLIC_BASE_URL", "").strip())
if _public_url.scheme != "https" or not _public_url.hostname:
    raise ImproperlyConfigured(
        "PUBLIC_BASE_URL must be set in production to the https:// address people reach the app at "
        "(e.g. https://workestra.example.com)."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Load balancers probe /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
