"""Thin Celery entry points. Tasks take ids, re-read the world, and are idempotent, so
acks_late (a killed worker's task is delivered again) is safe."""
from celery import shared_task

from . import drain as drain_module
from . import outbox


@shared_task(name="integrations.salesforce.tasks.drain_connection", acks_late=True, ignore_result=True)
def drain_connection(connection_id: int) -> int:
    return drain_module.drain(connection_id)


@shared_task(name="integrations.salesforce.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return outbox.sweep()
