"""A stand-in web process for the broker-outage fault: the public booking pages served by
Django's test client in a process of its own, so its Celery app talks to the broker named by
this process's REDIS_URL (a private redis-server the test stops and starts), as a real web
process would, pooled connection and all.

Protocol: one JSON object per line on stdin ({"path", "data"}: a POST), one JSON answer per
line on stdout ({"status", "location", "enqueue_failed", "seconds", "body"}). The first line
written is {"ready": true, "broker": <scheme://host:port>}. Run by faults_harness.BookerProcess.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workestra.settings.test")

# The protocol owns the real stdout; anything else that prints goes to stderr (the log).
protocol = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

import django

django.setup()

from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
from faults_harness import PageActor


def answer(payload: dict) -> None:
    protocol.write(json.dumps(payload) + "\n")
    protocol.flush()


def main() -> None:
    setup_test_environment()  # 'testserver' becomes an allowed host, mail stays in memory
    actor = PageActor(Client())
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    answer({"ready": True, "broker": broker, "pid": os.getpid()})
    for line in sys.stdin:
        request = json.loads(line)
        started = time.monotonic()
        try:
            answer(actor.post(request["path"], request["data"]))
        except Exception:  # noqa: BLE001 - reported to the test instead of dying silently
            answer({"error": traceback.format_exc(), "seconds": time.monotonic() - started})


if __name__ == "__main__":
    main()
