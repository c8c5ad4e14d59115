"""The org-user cache: active standard users only, fetched by a task, written in bulk (a large
org costs a few API calls and a bounded number of SQL statements), refreshed daily, and pages
whose statement count does not grow with the org."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from integrations.salesforce import services, tasks
from integrations.salesforce.models import SalesforceConnection, SalesforceUser
from sfdc_emulator import seed

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

BIG_ORG = 3000
ACTIVE_STANDARD = sum(1 for user in seed.USERS if user[4])
# Statements for caching BIG_ORG users: bulk upserts of at most 500 rows (SQLite: 999 bound
# parameters per statement, so 142 rows of 7 columns), one delete, one update, the
# transaction's savepoints and the usage write. Not one statement per user.
MAX_STATEMENTS = 30


def test_only_active_standard_users_are_cached(team, sfdc_emulator):
    cached = SalesforceUser.objects.filter(connection=team.connection)

    assert cached.count() == ACTIVE_STANDARD
    assert not cached.filter(username__in=["bob@acme.test.partner", "alice@acme.test.chatter", seed.FORMER]).exists()
    # Bob's partner-community login shares his email; only his standard user is a candidate.
    assert list(cached.filter(email="bob@acme.test").values_list("username", flat=True)) == [seed.BOB]


def test_a_big_org_is_cached_in_few_calls_and_bounded_statements(team, sfdc_emulator):
    sfdc_emulator.control.add_users(BIG_ORG)
    sfdc_emulator.control.add_users(50, user_type="PowerPartner", prefix="partner")
    sfdc_emulator.control.add_users(50, active=False, prefix="gone")
    sfdc_emulator.control.reset_calls()

    with CaptureQueriesContext(db_connection) as queries:
        count = services.org_users_refresh(connection=team.connection)

    assert count == BIG_ORG + ACTIVE_STANDARD
    assert SalesforceUser.objects.filter(connection=team.connection).count() == count
    assert sfdc_emulator.control.count("/services/data") == 2  # two query pages of 2,000
    assert len(queries) <= MAX_STATEMENTS, [q["sql"][:80] for q in queries]

    # A second run (everyone already cached) costs the same, and drops who left.
    sfdc_emulator.control.update_record("User", seed.USER_IDS[seed.BOB], {"IsActive": False})
    with CaptureQueriesContext(db_connection) as again:
        assert services.org_users_refresh(connection=team.connection) == count - 1
    assert len(again) <= MAX_STATEMENTS
    assert not SalesforceUser.objects.filter(connection=team.connection, sf_id=seed.USER_IDS[seed.BOB]).exists()


def page_statements(client, url) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_settings_and_mapping_pages_do_not_grow_with_the_org(team, sfdc_emulator, client):
    client.force_login(team.admin)
    small = {
        url: page_statements(client, url)
        for url in ("/settings/integrations/salesforce/", "/settings/integrations/salesforce/mapping/")
    }

    sfdc_emulator.control.add_users(BIG_ORG)
    services.org_users_refresh(connection=team.connection)
    big = {url: page_statements(client, url) for url in small}

    assert big == small


def test_the_task_is_named_for_other_modules_and_skips_what_is_not_connected(team, sfdc_emulator):
    assert tasks.refresh_org_users.name == "integrations.salesforce.tasks.refresh_org_users"
    SalesforceUser.objects.all().delete()
    assert tasks.refresh_org_users.run(team.connection.pk) == ACTIVE_STANDARD

    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        status=SalesforceConnection.Status.NEEDS_RECONNECT
    )
    sfdc_emulator.control.reset_calls()
    assert tasks.refresh_org_users.run(team.connection.pk) == 0
    assert tasks.refresh_org_users.run(987654) == 0
    assert sfdc_emulator.control.count("/services/data") == 0


def test_beat_refreshes_every_connected_org_daily(team, monkeypatch):
    from workestra.settings import base

    entry = base.CELERY_BEAT_SCHEDULE["salesforce-org-users-daily"]
    assert (entry["task"], entry["schedule"]) == ("integrations.salesforce.tasks.refresh_all_org_users", 86400.0)
    queued = []
    monkeypatch.setattr(tasks.refresh_org_users, "apply_async", lambda args, **kw: queued.append(args))

    assert tasks.refresh_all_org_users.run() == 1
    assert queued == [(team.connection.pk,)]
