"""Settings shared by every environment. Everything that differs comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("WORKESTRA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS") or [PUBLIC_BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "workestra",
    "bookings",
    "routing",
    "notetaker",
    "integrations.salesforce",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "workestra.security.PermissionsPolicyMiddleware",
    "workestra.tenancy.WorkspaceMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    # First: refuses to authenticate a locked-out account or client before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "workestra.urls"
WSGI_APPLICATION = "workestra.wsgi.application"
AUTH_USER_MODEL = "workestra.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/calendar/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workestra.tenancy.workspace_context",
            ],
        },
    },
]

# SQLite when DATABASE_URL is unset; PostgreSQL (psycopg 3) when it is.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "workestra.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN, so select_for_update-style sections
            # (token refresh, outbox claims) are serialised on SQLite as they are on PostgreSQL.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}


# --- Celery -----------------------------------------------------------------------------
def filesystem_broker_options(folder: Path, visibility_timeout: int = 3600) -> dict:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "visibility_timeout": visibility_timeout,
        # The worker polls the folder; kombu's default of 1 s would add up to a second per task.
        "polling_interval": 0.1,
    }


REDIS_URL = os.environ.get("REDIS_URL", "")
# Countdowns of every retry stay below this, or Redis would hand the message to a second worker.
CELERY_VISIBILITY_TIMEOUT = 3600
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    # An embedded broker that needs no server: kombu's filesystem transport in a shared folder.
    CELERY_BROKER_URL = "atomicfs://"  # workestra.broker: kombu's filesystem transport, atomic writes
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(
        Path(os.environ.get("CELERY_FILESYSTEM_BROKER_DIR", VAR_DIR / "broker"))
    )
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# Keep Django's LOGGING (the secret-redacting filter, structured fields) in worker processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How often the sweep re-enqueues outbox rows whose task was lost (seconds).
OUTBOX_SWEEP_INTERVAL = float(os.environ.get("OUTBOX_SWEEP_INTERVAL", "30"))
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "workestra.tasks.heartbeat", "schedule": 30.0},
    "salesforce-outbox-sweep": {
        "task": "integrations.salesforce.tasks.sweep_outbox",
        "schedule": OUTBOX_SWEEP_INTERVAL,
    },
    "salesforce-outbox-prune": {"task": "integrations.salesforce.tasks.prune_outbox", "schedule": 3600.0},
    # Users join, leave and change email: the mapping's org-user cache is re-read daily.
    "salesforce-org-users-daily": {
        "task": "integrations.salesforce.tasks.refresh_all_org_users",
        "schedule": 24 * 3600.0,
    },
    "bookings-email-sweep": {"task": "bookings.tasks.sweep_emails", "schedule": OUTBOX_SWEEP_INTERVAL},
}

# --- Email: booking confirmations, moves and cancellations (the mail outbox) ----------------
# SMTP unless EMAIL_BACKEND says otherwise (local settings write files to var/mail/).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Workestra <no-reply@workestra.local>")
# Retries: doubling from the base, capped below the broker's visibility timeout; after the
# last attempt a row is "failed" (admin shows it); the sweep sends rows whose task was lost.
BOOKING_EMAIL_RETRY_BASE_SECONDS = float(os.environ.get("BOOKING_EMAIL_RETRY_BASE_SECONDS", "30"))
BOOKING_EMAIL_RETRY_MAX_SECONDS = min(600.0, float(os.environ.get("BOOKING_EMAIL_RETRY_MAX_SECONDS", "600")))
BOOKING_EMAIL_MAX_ATTEMPTS = int(os.environ.get("BOOKING_EMAIL_MAX_ATTEMPTS", "30"))
BOOKING_EMAIL_LEASE_SECONDS = float(os.environ.get("BOOKING_EMAIL_LEASE_SECONDS", "120"))

# --- Salesforce ---------------------------------------------------------------------------
SALESFORCE_CLIENT_ID = os.environ.get("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = os.environ.get("SALESFORCE_CLIENT_SECRET", "")
SALESFORCE_LOGIN_URL = os.environ.get("SALESFORCE_LOGIN_URL", "https://login.salesforce.com").rstrip("/")
SALESFORCE_SANDBOX_LOGIN_URL = os.environ.get("SALESFORCE_SANDBOX_LOGIN_URL", "https://test.salesforce.com").rstrip("/")
SALESFORCE_API_VERSION = os.environ.get("SALESFORCE_API_VERSION", "59.0")
SALESFORCE_HTTP_TIMEOUT = float(os.environ.get("SALESFORCE_HTTP_TIMEOUT", "30"))
SALESFORCE_ROUTING_TIMEOUT = float(os.environ.get("SALESFORCE_ROUTING_TIMEOUT", "3"))
# A token-refresh claim lives for the token call's timeout plus this margin; a process that
# died mid-refresh blocks the next refresh for at most that long.
SALESFORCE_TOKEN_LEASE_MARGIN_SECONDS = float(os.environ.get("SALESFORCE_TOKEN_LEASE_MARGIN_SECONDS", "5"))
# Login hosts accepted on the connect form besides My Domain hosts (comma-separated host[:port],
# for local Salesforce emulators).
SALESFORCE_EXTRA_LOGIN_HOSTS = [host.lower() for host in env_list("SALESFORCE_EXTRA_LOGIN_HOSTS")]
# Share of the org's daily API allotment above which pushes defer instead of spending the rest.
SALESFORCE_API_LIMIT_SHARE = float(os.environ.get("SALESFORCE_API_LIMIT_SHARE", "0.9"))
# Fernet keys, comma separated: the first encrypts, any of them decrypts (rotation).
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS")
# The local settings' key, public on purpose (tokens of the local emulator only); production
# refuses it.
DEVELOPMENT_TOKEN_KEY = "fzjaVgLSzv01rC3pclrajXD-anCkIHN4ovxv7MfwTq0="  # noqa: S105  # nosec B105 - public development key

NOTETAKER_WEBHOOK_SECRET = os.environ.get("NOTETAKER_WEBHOOK_SECRET", "")

# --- Logging: structured, and never a token (see workestra.logging) -----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "workestra.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s %(extra_fields)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # oauthlib and urllib3 log request bodies and headers at DEBUG; they never go above WARNING.
        "oauthlib": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- Outbox tuning (seconds) ---------------------------------------------------------------
SALESFORCE_DRAIN_MAX_SECONDS = float(os.environ.get("SALESFORCE_DRAIN_MAX_SECONDS", "10"))
SALESFORCE_DRAIN_LEASE_SECONDS = float(os.environ.get("SALESFORCE_DRAIN_LEASE_SECONDS", "120"))
SALESFORCE_RETRY_BASE_SECONDS = float(os.environ.get("SALESFORCE_RETRY_BASE_SECONDS", "5"))
SALESFORCE_RETRY_MAX_SECONDS = min(600.0, float(os.environ.get("SALESFORCE_RETRY_MAX_SECONDS", "600")))
# With the 600 s cap, 24 attempts ride out about three hours of Salesforce trouble before a row
# is marked failed (and stays retryable by staff).
SALESFORCE_MAX_ATTEMPTS = int(os.environ.get("SALESFORCE_MAX_ATTEMPTS", "24"))
SALESFORCE_DEFER_SECONDS = float(os.environ.get("SALESFORCE_DEFER_SECONDS", "900"))
# A woken drain claims once the oldest due row has waited this long, so bookings that commit
# close together share one lookup and one write. 0.8 s measured 0.40 / 0.23 calls per booking at
# 5 / 10 bookings/s with commit -> Event p50 0.71 / 0.77 s (0.5 s: 0.67 / 0.33, p50 0.62 / 0.56):
# README "Throughput".
SALESFORCE_COALESCE_SECONDS = float(os.environ.get("SALESFORCE_COALESCE_SECONDS", "0.8"))
# A scheduled wake-up whose task has not started this long after it was due counts as lost:
# the sweep schedules another (the lost one, if it ever arrives, finds its token gone). It must
# outlast the longest queue wait of a backlog, or the sweep adds tasks that find nothing: 1,000
# workspaces woken at once waited up to 138 s on the 2-core bench machine (bench/throughput.py).
SALESFORCE_DRAIN_WAKE_TTL_SECONDS = float(os.environ.get("SALESFORCE_DRAIN_WAKE_TTL_SECONDS", "300"))
# Finished outbox rows (and their attempts) are deleted by the hourly prune after this many days.
SALESFORCE_OUTBOX_RETENTION_DAYS = float(os.environ.get("SALESFORCE_OUTBOX_RETENTION_DAYS", "90"))
# After a create got no answer, retries only reconcile (never create) for this long: Salesforce
# keeps running a request up to its 10-minute REST timeout, + 5 minutes of margin (reconcile.py).
SALESFORCE_RECONCILE_WINDOW_SECONDS = float(os.environ.get("SALESFORCE_RECONCILE_WINDOW_SECONDS", "900"))
# Publishing a task must not hold a booking request for long when the broker is down:
# the outbox row is already committed and the sweep will enqueue it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# Shared cache (routing lookups, rate limits, routing's API budget): Redis when there is one.
# Without Redis (demo, laptops) a file cache that every process on the machine shares: rate
# limits must count the requests of all gunicorn workers, and locmem counts per process.
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "workestra",
        }
    }
else:
    # incr() on this backend re-sets the entry with the default TIMEOUT; MAX_ENTRIES high enough
    # that culling does not drop rate-limit counters during a flood.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "TIMEOUT": 3600,
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

# --- Client address --------------------------------------------------------------------------
# How many reverse proxies in front of gunicorn append to X-Forwarded-For. 0: the socket's
# address is the client (no proxy, or one that does not set the header). Rate limits and the
# sign-in lockout key on this address, so it must not be spoofable: only the entries the
# trusted proxies appended are believed (see workestra.security.client_ip).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# --- Sign-in brute force (django-axes; attempts live in the database, so every worker sees them)
AXES_FAILURE_LIMIT = int(os.environ.get("SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("SIGNIN_LOCKOUT_MINUTES", "15")))
# Either the account (whatever the client) or the client (whatever the accounts it tries).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "workestra.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "workestra.security.signin_client_ip"
AXES_USERNAME_CALLABLE = "workestra.security.signin_username"
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False  # axes' own log lines carry the username; ours (workestra.security) do not

# --- Public POST rate limits (workestra.ratelimit) ---------------------------------------------
# "<count>/<seconds>" per scope. "client" is the client address, "link" the booking link (or the
# booking, for reschedule/cancel, or the routing form). Over a limit the answer is 429.
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMIT_BOOK_PER_CLIENT = os.environ.get("RATELIMIT_BOOK_PER_CLIENT", "10/600")
RATELIMIT_BOOK_PER_LINK = os.environ.get("RATELIMIT_BOOK_PER_LINK", "30/3600")
RATELIMIT_CHANGE_PER_CLIENT = os.environ.get("RATELIMIT_CHANGE_PER_CLIENT", "20/600")
RATELIMIT_CHANGE_PER_BOOKING = os.environ.get("RATELIMIT_CHANGE_PER_BOOKING", "10/3600")
RATELIMIT_FORM_PER_CLIENT = os.environ.get("RATELIMIT_FORM_PER_CLIENT", "10/600")
RATELIMIT_FORM_PER_FORM = os.environ.get("RATELIMIT_FORM_PER_FORM", "120/3600")

# --- Routing's Salesforce lookups (issue 12 item 10) ------------------------------------------
# Lookups per form per hour; past it the form routes to its fallback at once, without a call.
SALESFORCE_ROUTING_LOOKUPS_PER_FORM = os.environ.get("SALESFORCE_ROUTING_LOOKUPS_PER_FORM", "60/3600")
# Share of the org's daily API allotment that routing lookups may spend (counted per org per
# UTC day). Kept well below SALESFORCE_API_LIMIT_SHARE so a bot on a public form can never push
# the org to the share where booking pushes defer.
SALESFORCE_ROUTING_API_SHARE = float(os.environ.get("SALESFORCE_ROUTING_API_SHARE", "0.05"))

# --- Content-Security-Policy (django-csp) and Permissions-Policy ------------------------------
# Scripts only from our own origin or carrying the per-response nonce; styles may be inline
# (templates use style attributes). Nothing may frame the app.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
PERMISSIONS_POLICY = os.environ.get(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
)
