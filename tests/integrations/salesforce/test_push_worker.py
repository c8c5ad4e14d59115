"""End to end with a real Celery worker process (and beat) on the real broker."""

from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from integrations.salesforce.models import BookingSync, SyncOperation
from tests.fixtures.salesforce import make_team, worker_sf_env
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.emulator, pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_a_booking_made_on_the_public_page_appears_in_salesforce(
    client, sf_settings, sfdc_emulator, celery_worker_process
):
    team = make_team(sfdc_emulator)
    worker = celery_worker_process(extra_env=worker_sf_env(sfdc_emulator))
    start = team.free_slot("bob")

    response = client.post(
        "/book/acme/bob/", {"name": "Jane Roe", "email": "jane.roe@globex.com", "start": start.isoformat()}
    )

    assert response.status_code == 302, response.content[:2000]
    wait_for(lambda: len(sfdc_emulator.control.records("Event")) == 1, what=f"the Event\n{worker.log()}")
    sync = BookingSync.objects.get()
    wait_for(lambda: SyncOperation.objects.get().state == SyncOperation.State.PUSHED, what="the row's outcome")
    client.force_login(team.users["bob"])
    page = client.get(response["Location"]).content.decode()
    assert sync.sf_event_id in page


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_keeps_the_row_and_the_sweep_sends_it_later(
    client, sf_settings, sfdc_emulator, celery_worker_process
):
    team = make_team(sfdc_emulator)
    start = team.free_slot("alice")
    with mock.patch(
        "integrations.salesforce.tasks.drain_connection.apply_async", side_effect=OperationalError("broker down")
    ):
        response = client.post(
            "/book/acme/alice/", {"name": "Jane Roe", "email": "jane.roe@globex.com", "start": start.isoformat()}
        )
    assert response.status_code == 302  # the invitee never sees the outage
    assert SyncOperation.objects.get().state == SyncOperation.State.PENDING

    celery_worker_process(extra_env=worker_sf_env(sfdc_emulator))

    wait_for(lambda: len(sfdc_emulator.control.records("Event")) == 1, what="the swept Event")
    # The Event id is durable before the batch's outcome is recorded: wait for the record too.
    wait_for(lambda: SyncOperation.objects.get().state == SyncOperation.State.PUSHED, what="the row's outcome")
