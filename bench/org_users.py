#!/usr/bin/env python
"""The org-user cache of a large org (issue 11 "Users").

Connects a team to the emulator, adds N active standard users (plus partner and inactive users
that must not be cached), then measures one `org_users_refresh`: Salesforce API calls, SQL
statements, wall time; and the settings and mapping pages' SQL statements and render time,
before and after the org grew.

    .venv/bin/python bench/org_users.py [--users 3000] [--database-url postgres://...]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="workestra-users-bench-"))


def configure(database_url: str | None) -> None:
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workestra.settings.test",
        SQLITE_PATH=str(WORK / "bench.sqlite3"),
        WORKESTRA_TEST_RUN_DIR=str(WORK),
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
    )
    import django

    django.setup()


def page(client, url) -> tuple[int, float]:
    from django.db import connection as db_connection
    from django.test.utils import CaptureQueriesContext

    began = time.monotonic()
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(queries), time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    configure(args.database_url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection as db_connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from integrations.salesforce import services
    from tests.fixtures.emulator import start_emulator, stop_emulator
    from tests.fixtures.salesforce import make_team

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a fresh run on a reused PostgreSQL database
    emulator = start_emulator(WORK / "sfdc")
    for key, value in emulator.env().items():
        os.environ[key] = value
        setattr(settings, key, value)
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
        "workestra-local-client",
        "workestra-local-secret",
    )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    urls = {"settings": "/settings/integrations/salesforce/", "mapping": "/settings/integrations/salesforce/mapping/"}
    try:
        team = make_team(emulator)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(team.admin)
        before = {name: page(client, url) for name, url in urls.items()}
        emulator.control.add_users(args.users)
        emulator.control.add_users(100, user_type="PowerPartner", prefix="partner")
        emulator.control.add_users(100, active=False, prefix="gone")
        emulator.control.reset_calls()
        began = time.monotonic()
        with CaptureQueriesContext(db_connection) as queries:
            cached = services.org_users_refresh(connection=team.connection)
        seconds = time.monotonic() - began
        calls = emulator.control.count("/services/data")
        after = {name: page(client, url) for name, url in urls.items()}
        print(
            f"Database: {engine}; org of {args.users:,} active standard users (+ the seed, + 100 partner, + 100 inactive)"
        )
        print(
            f"org_users_refresh: {cached:,} users cached in {calls} API calls, {len(queries)} SQL statements, {seconds:.2f} s"
        )
        for name in urls:
            (q0, t0), (q1, t1) = before[name], after[name]
            print(
                f"{name} page: {q0} SQL statements / {t0 * 1000:.0f} ms with the seed org; "
                f"{q1} statements / {t1 * 1000:.0f} ms with {cached:,} users"
            )
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
