"""End to end: a signed recap posted to the web app reaches Salesforce through a real worker."""

import pytest

from integrations.salesforce.models import SalesforceConnection, SyncOperation
from sfdc_emulator.seed import ID
from tests.fixtures.salesforce import make_team, worker_sf_env
from tests.fixtures.worker import wait_for
from tests.notetaker.recap_support import post_recap, recap_payload

pytestmark = [pytest.mark.emulator, pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_a_signed_recap_becomes_an_enhanced_note_on_contact_and_deal_through_the_worker(
    client, sf_settings, sfdc_emulator, celery_worker_process
):
    team = make_team(sfdc_emulator)
    assert team.refresh().note_type == SalesforceConnection.NoteType.ENHANCED  # the org allows ContentNote
    SalesforceConnection.objects.filter(pk=team.connection.pk).update(
        object_scope=SalesforceConnection.ObjectScope.EVENTS_AND_NOTES
    )
    worker = celery_worker_process(extra_env=worker_sf_env(sfdc_emulator))
    booking = team.book("alice")

    response = post_recap(client, recap_payload(booking), key="delivery-1")

    assert response.status_code == 201 and response.json()["salesforce"] == "queued"
    wait_for(lambda: len(sfdc_emulator.control.records("ContentNote")) == 1, what=f"one Enhanced Note\n{worker.log()}")
    recap_op = lambda: SyncOperation.objects.get(booking=booking, kind=SyncOperation.Kind.RECAP)  # noqa: E731
    wait_for(lambda: recap_op().state == SyncOperation.State.PUSHED, what="the recap row's outcome")
    [note] = sfdc_emulator.control.records("ContentNote")
    linked = {
        link["LinkedEntityId"][:15]
        for link in sfdc_emulator.control.records("ContentDocumentLink")
        if link["ContentDocumentId"] == note["Id"]
    }
    assert linked == {ID["contact:jane"][:15], ID["opportunity:globex_renewal"][:15], ID["user:admin"][:15]}
    assert sfdc_emulator.control.records("Note") == []
    assert len(sfdc_emulator.control.records("Event")) == 1
    client.force_login(team.users["alice"])
    page = client.get(booking.get_absolute_url()).content.decode()
    assert f"Enhanced Note <code>{note['Id']}</code>" in page
