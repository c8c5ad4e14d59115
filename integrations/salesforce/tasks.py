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
    logger.info("salesforce.drain.task", extra={"connection_id": connection_id, "handled": handled,
                                                "seconds": round(time.monotonic() - started, 3)})
    return handled


@shared_task(name="integrations.salesforce.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return outbox.sweep()


@shared_task(name="integrations.salesforce.tasks.prune_outbox", ignore_result=True)
def prune_outbox() -> int:
    return outbox.prune()
