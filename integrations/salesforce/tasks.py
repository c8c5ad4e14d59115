"""Thin Celery entry points. Tasks take ids, re-read the world, and are idempotent, so
acks_late (a killed worker's task is delivered again) is safe."""

import logging
import time

from celery import shared_task

from . import drain as drain_module
from . import outbox

logger = logging.getLogger("integrations.salesforce.tasks")


@shared_task(name="integrations.salesforce.tasks.drain_connection", acks_late=True, ignore_result=True)
def drain_connection(connection_id: int, wake_token: str = "") -> int:  # nosec B107  # a wake-up id, not a password
    # A task without a token (queued before wake-ups had one) drains like a manual call.
    started = time.monotonic()
    handled = drain_module.drain(connection_id, wake_token or None)
    # One line per task: operators (and bench/throughput.py) count the tasks that found nothing.
    logger.info(
        "salesforce.drain.task",
        extra={"connection_id": connection_id, "handled": handled, "seconds": round(time.monotonic() - started, 3)},
    )
    return handled


@shared_task(name="integrations.salesforce.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return outbox.sweep()


@shared_task(name="integrations.salesforce.tasks.prune_outbox", ignore_result=True)
def prune_outbox() -> int:
    return outbox.prune()


@shared_task(name="integrations.salesforce.tasks.refresh_org_users", acks_late=True, ignore_result=True)
def refresh_org_users(connection_id: int) -> int:
    """Re-cache one connection's org users (after a connect, daily, and when Salesforce answers
    INACTIVE_OWNER_OR_USER). A connection that is gone or not connected is left alone."""
    from .errors import SalesforceError
    from .models import SalesforceConnection
    from .services import org_users_refresh

    connection = SalesforceConnection.objects.filter(
        pk=connection_id, status=SalesforceConnection.Status.CONNECTED
    ).first()
    if connection is None:
        return 0
    try:
        return org_users_refresh(connection=connection)
    except SalesforceError as exc:
        logger.warning("salesforce.users.refresh_failed", extra={"connection_id": connection_id, "code": exc.code})
        return 0


@shared_task(name="integrations.salesforce.tasks.refresh_all_org_users", ignore_result=True)
def refresh_all_org_users() -> int:
    """Beat, daily: one refresh_org_users task per connected connection."""
    from .models import SalesforceConnection
    from .services import enqueue_org_users_refresh

    ids = SalesforceConnection.objects.filter(status=SalesforceConnection.Status.CONNECTED).values_list("pk", flat=True)
    return sum(enqueue_org_users_refresh(pk) for pk in ids)
