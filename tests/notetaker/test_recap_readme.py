"""The README's curl example, run as written against a live server."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from notetaker.models import Recap
from tests.fixtures.factories import make_booking
from tests.notetaker.recap_support import SECRET

SNIPPET = Path(__file__).resolve().parents[2] / "notetaker" / "README-snippet.md"


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", SNIPPET.read_text(), flags=re.S)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
@pytest.mark.django_db(transaction=True)
def test_the_curl_example_posts_a_signed_recap(live_server, link):
    booking = make_booking(link, email="jane.roe@globex.com", name="Jane Roe")
    post_block = shell_blocks()[-1]
    env = {"PATH": "/usr/bin:/bin", "BOOKING_UID": booking.uid, "WORKESTRA_URL": live_server.url, "NOTETAKER_WEBHOOK_SECRET": SECRET}

    first = subprocess.run(["bash", "-euo", "pipefail", "-c", post_block], env=env, capture_output=True, text=True, timeout=30)
    again = subprocess.run(["bash", "-euo", "pipefail", "-c", post_block], env=env, capture_output=True, text=True, timeout=30)

    assert first.returncode == 0, first.stderr
    assert '"created": true' in first.stdout, first.stdout
    assert again.stdout == first.stdout  # the same Idempotency-Key: a replay
    recap = Recap.objects.get(booking=booking)
    assert recap.summary == "Jane wants the renewal quote before Friday."
    assert [(i.text, i.assignee, str(i.due_date)) for i in recap.action_items.all()] == [("Send the renewal quote", "Alice", "2026-04-03")]


def test_the_snippet_fetches_the_uid_into_booking_uid_not_bash_readonly_uid():
    first = shell_blocks()[0]
    assert first.startswith("export BOOKING_UID=") and "Booking.objects.latest('created_at').uid" in first
