import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from workestra.celery import app as celery_app
from workestra.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_without_a_worker_heartbeat_it_is_degraded_but_200(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": {"ok": True},
        "broker": {"ok": True},
        "worker": {"ok": False, "last_seen": None},
    }
    assert "no-cache" in response["Cache-Control"]


def test_a_recent_heartbeat_makes_it_ok(client):
    seen = timezone.now() - timedelta(seconds=30)
    WorkerHeartbeat.objects.create(worker="worker-1", seen_at=seen)

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["worker"] == {"ok": True, "last_seen": seen.isoformat()}


def test_a_stale_heartbeat_is_degraded(client):
    WorkerHeartbeat.objects.create(worker="worker-1", seen_at=timezone.now() - timedelta(minutes=3))

    body = client.get("/healthz").json()

    assert body["status"] == "degraded" and body["worker"]["ok"] is False


def test_an_unreachable_broker_is_degraded_and_reveals_nothing(client, monkeypatch):
    WorkerHeartbeat.objects.create(worker="worker-1", seen_at=timezone.now())
    secret_url = "redis://:hunter2-secret@127.0.0.1:1/0"
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection(secret_url, connect_timeout=1))

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is False and body["broker"]["error"]
    assert body["database"] == {"ok": True} and body["worker"]["ok"] is True
    assert "hunter2" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


def test_healthz_needs_no_sign_in_and_only_reads(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_the_container_healthcheck_passes_on_a_degraded_but_running_web(live_server):
    def healthcheck(url):
        env = {"PATH": "/usr/bin:/bin", "HEALTHCHECK_URL": url}
        return subprocess.run([sys.executable, "-m", "workestra.healthcheck"], env=env, capture_output=True, timeout=30)

    assert healthcheck(f"{live_server.url}/healthz").returncode == 0
    assert healthcheck("http://127.0.0.1:9/healthz").returncode == 1
    assert healthcheck("file:///etc/passwd").returncode == 2
