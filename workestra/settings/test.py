"""The test suite: local settings, fast password hashing, and a per-run sandbox.

DATABASE_URL and REDIS_URL still choose PostgreSQL/Redis (CI) or SQLite/the embedded broker
(a laptop). Each pytest run gets its own run id, folder and Celery queue, exported through the
environment so that worker processes the tests start share them (and parallel runs don't).
"""

import os
import tempfile
import uuid
from pathlib import Path

from .local import *  # noqa: F401,F403
from .local import CELERY_VISIBILITY_TIMEOUT, DATABASES, REDIS_URL, env_bool, filesystem_broker_options

RUN_ID = os.environ.setdefault("WORKESTRA_TEST_RUN_ID", uuid.uuid4().hex[:12])
RUN_DIR = Path(os.environ.setdefault("WORKESTRA_TEST_RUN_DIR", tempfile.mkdtemp(prefix="workestra-test-")))
RUN_DIR.mkdir(parents=True, exist_ok=True)

STATIC_ROOT = RUN_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

_db = DATABASES["default"]
if _db["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a worker process can open the same test database.
    _db["TEST"] = {"NAME": str(RUN_DIR / "test.sqlite3")}
else:
    _db["TEST"] = {"NAME": os.environ.get("WORKESTRA_TEST_DB_NAME", "test_workestra")}
# A worker process started by the tests opens the test database as its main database.
if os.environ.get("WORKESTRA_DB_NAME_OVERRIDE"):
    _db["NAME"] = os.environ["WORKESTRA_DB_NAME_OVERRIDE"]

CELERY_TASK_DEFAULT_QUEUE = f"workestra-test-{RUN_ID}"
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(RUN_DIR / "broker", CELERY_VISIBILITY_TIMEOUT)
OUTBOX_SWEEP_INTERVAL = float(os.environ.get("OUTBOX_SWEEP_INTERVAL", "2"))
# Tests drain at once unless they test the coalescing window itself; a lost wake-up is
# recovered within seconds.
SALESFORCE_COALESCE_SECONDS = float(os.environ.get("SALESFORCE_COALESCE_SECONDS", "0"))
SALESFORCE_DRAIN_WAKE_TTL_SECONDS = float(os.environ.get("SALESFORCE_DRAIN_WAKE_TTL_SECONDS", "3"))
CELERY_BEAT_SCHEDULE = {
    "salesforce-outbox-sweep": {
        "task": "integrations.salesforce.tasks.sweep_outbox",
        "schedule": OUTBOX_SWEEP_INTERVAL,
    },
    "worker-heartbeat": {"task": "workestra.tasks.heartbeat", "schedule": 5.0},
    "bookings-email-sweep": {"task": "bookings.tasks.sweep_emails", "schedule": OUTBOX_SWEEP_INTERVAL},
}
# Worker processes the tests start write mail to the run's folder (pytest-django uses locmem in-process).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(RUN_DIR / "mail")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{RUN_ID}",
        }
    }
else:
    # One process per test run: locmem is enough and keeps runs apart.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The suite books many times from one client (127.0.0.1), and so do the fault suite and the load
# run: public POST limits are off here unless a test (tests/security/test_security_ratelimit.py)
# or RATELIMIT_ENABLED=1 turns them on.
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", False)
