"""`manage.py push_existing_bookings`: a workspace's future bookings after a first connect."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bookings.services import booking_cancel
from integrations.salesforce.models import SyncOperation
from integrations.salesforce.services import mapping_set_override
from sfdc_emulator.seed import CAROL, USER_IDS
from tests.fixtures.salesforce import connect_workspace, make_team

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


def test_pushes_the_live_future_bookings_once_with_a_summary(sf_settings, sfdc_emulator):
    team = make_team(sfdc_emulator, connect=False)
    live = [team.book("alice", slot=0), team.book("bob", email="peter@initech.com", slot=1)]
    booking_cancel(booking=team.book("alice", slot=2))
    team.connection = connect_workspace(team.workspace, team.admin, sfdc_emulator)
    mapping_set_override(connection=team.connection, user=team.users["carol"], sf_user_id=USER_IDS[CAROL])
    out = StringIO()

    call_command("push_existing_bookings", "--workspace", "acme", stdout=out)

    assert "Queued 2 booking(s) of acme for Salesforce." in out.getvalue()
    assert "Done: 2 pushed." in out.getvalue()
    assert sorted(e["Description"].split("\n")[0] for e in team.events()) == sorted(
        f"Workestra booking: {b.get_member_url()}" for b in live
    )

    call_command("push_existing_bookings", "--workspace", "acme", stdout=StringIO())
    assert len(team.events()) == 2  # already in Salesforce: not queued again
    assert SyncOperation.objects.filter(trigger=SyncOperation.Trigger.BACKFILL).count() == 2


def test_refuses_a_workspace_without_a_connection(sf_settings, sfdc_emulator):
    make_team(sfdc_emulator, connect=False)
    with pytest.raises(CommandError, match="no working Salesforce connection"):
        call_command("push_existing_bookings", "--workspace", "acme")
