"""The README's recap example, run verbatim against a live server, and what the webhook says
when a shell variable holding two lines breaks the request's headers."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bookings.availability import link_free_slots
from notetaker.models import Recap
from tests.fixtures.factories import make_booking
from tests.fixtures.worker import worker_env
from tests.notetaker.recap_support import SECRET

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "notetaker" / "README-snippet.md"
README = ROOT / "README.md"
needs_tools = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)


def shell_blocks(path: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.S)


def readme_recap_block() -> str:
    (block,) = [b for b in shell_blocks(README) if "/api/notetaker/recaps/" in b]
    return block


def run_bash(script: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def recap_env(live_server) -> dict:
    """The test database for manage.py (as a worker process opens it) and the live server's URL."""
    return worker_env({"WORKESTRA_URL": live_server.url, "NOTETAKER_WEBHOOK_SECRET": SECRET})


@needs_tools
@pytest.mark.django_db(transaction=True)
def test_the_readme_block_runs_verbatim_and_posts_a_signed_recap(live_server, link):
    make_booking(link, email="someone.else@example.com")
    booking = make_booking(link, start=link_free_slots(link)[1], email="jane.roe@globex.com", name="Jane Roe")
    block = readme_recap_block()
    assert block.startswith("export BOOKING_UID=$(.venv/bin/python manage.py latest_booking_uid)\n")

    first = run_bash(block, recap_env(live_server))
    again = run_bash(block, recap_env(live_server))

    assert first.returncode == 0, first.stderr
    assert '"created": true' in first.stdout, first.stdout
    assert again.stdout == first.stdout  # the same Idempotency-Key: a replay
    recap = Recap.objects.get(booking=booking)
    assert recap.summary == "Jane wants the renewal quote before Friday."
    assert [(i.text, i.assignee, str(i.due_date)) for i in recap.action_items.all()] == [
        ("Send the renewal quote", "Alice", "2026-04-03")
    ]


def test_the_notetaker_snippet_says_what_the_readme_says():
    readme = readme_recap_block()
    snippet = "".join(shell_blocks(SNIPPET))
    assert snippet == readme


@needs_tools
@pytest.mark.django_db(transaction=True)
def test_a_two_line_booking_uid_gets_an_answer_naming_the_line_break(live_server, link):
    """What `manage.py shell -c` did on Django 5.2: "N objects imported automatically" first."""
    booking = make_booking(link)
    post = readme_recap_block().split("\n", 1)[1]
    env = {
        **recap_env(live_server),
        "BOOKING_UID": f"28 objects imported automatically (use -v 2 for details).\n\n{booking.uid}",
    }

    result = run_bash(post, env)

    assert '"error": "Missing X-Workestra-Signature header, and the body is empty: the request' in result.stdout, (
        result.stdout
    )
    assert "contains a line break" in result.stdout
    assert not Recap.objects.exists()
