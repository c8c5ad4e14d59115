import time

import pytest

from workestra.models import WorkerHeartbeat
from workestra.tasks import heartbeat


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_goes_through_the_broker_to_a_real_worker_and_healthz_sees_it(celery_worker_process, client):
    worker = celery_worker_process(beat=False)  # without beat, only our .delay() can write the row
    assert client.get("/healthz").json()["worker"]["ok"] is False

    heartbeat.delay()

    deadline = time.monotonic() + 60
    while not WorkerHeartbeat.objects.exists():
        assert time.monotonic() < deadline, f"no heartbeat within 60s; worker log:\n{worker.log()}"
        time.sleep(0.2)
    body = client.get("/healthz").json()
    assert body["status"] == "ok", body
    assert "workestra.tasks.heartbeat" in worker.log() and "succeeded" in worker.log()
