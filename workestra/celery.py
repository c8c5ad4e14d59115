"""The one Celery app. JSON only; Redis when REDIS_URL is set, kombu's filesystem broker otherwise."""

import os
from pathlib import Path

from celery import Celery

from . import broker  # noqa: F401  registers the embedded broker's transport alias

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workestra.settings.local")

app = Celery("workestra")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
