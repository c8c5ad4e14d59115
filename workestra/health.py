"""What /healthz reports: can we reach the database and the broker, and is a worker alive?

Each check returns a small dict that is safe to show anyone: no URLs, hosts or exception text
(a broker URL may carry a password), only whether it worked and the error's type.
"""

import logging
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .celery import app as celery_app
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)
WORKER_STALE_AFTER = timedelta(minutes=2)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ok"; the type is enough for an operator
        logger.warning("health.database.failed", extra={"error": type(exc).__name__})
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_broker() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            # A short pause before the one retry: a load balancer is waiting on this answer.
            conn.ensure_connection(max_retries=1, timeout=2, interval_start=0.2, interval_step=0)  # type: ignore[arg-type]  # kombu takes float seconds; its stub says int
    except Exception as exc:
        logger.warning("health.broker.failed", extra={"error": type(exc).__name__})
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_worker(*, now=None) -> dict:
    now = now or timezone.now()
    try:
        last_seen = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    except Exception as exc:  # the database check already says why
        return {"ok": False, "last_seen": None, "error": type(exc).__name__}
    return {
        "ok": last_seen is not None and now - last_seen < WORKER_STALE_AFTER,
        "last_seen": last_seen.isoformat() if last_seen else None,
    }


def health_report() -> dict:
    parts = {"database": check_database(), "broker": check_broker(), "worker": check_worker()}
    status = "ok" if all(part["ok"] for part in parts.values()) else "degraded"
    return {"status": status, **parts}
