import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="workestra.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Proves to /healthz that a worker is consuming from the broker."""
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(worker=socket.gethostname(), defaults={"seen_at": timezone.now()})
