"""An email backend for the outage tests: refuses to send while its "down" switch is on,
then delivers into Django's locmem outbox (in-process) and a folder (for worker processes).

The switch is a file, so a test can flip it for a worker process it started."""

import os
import smtplib
from pathlib import Path

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

DIR_ENV = "FLAKY_MAIL_DIR"


def mail_dir() -> Path:
    return Path(os.environ[DIR_ENV])


class FlakyBackend(LocmemBackend):
    def send_messages(self, messages):
        folder = mail_dir()
        if (folder / "down").exists():
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (the test's mail server is down)")
        for message in messages:
            (folder / f"sent-{len(list(folder.glob('sent-*')))}.eml").write_bytes(message.message().as_bytes())
        return super().send_messages(messages)
