"""Tenant isolation in the background work: a drain of one connection touches only its own
workspace's rows and sends only its own workspace's bookings and recaps, even when an outbox
row (by a bug or a hand edit) names another workspace's booking."""

import pytest
from django.utils import timezone

from bookings.availability import link_free_slots
from bookings.services import booking_create
from integrations.salesforce import payloads
from integrations.salesforce.drain import drain
from integrations.salesforce.models import BookingSync, SyncOperation
from notetaker.models import Recap
from tests.fixtures.factories import make_link, make_member, make_workspace
from tests.fixtures.salesforce import connect_workspace, make_team
from workestra.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
State = SyncOperation.State


@pytest.fixture
def two_tenants(sf_settings, sfdc_emulator):
    """Acme (the team) and Globex, both connected, with a confirmed booking each."""
    team = make_team(sfdc_emulator)
    globex = make_workspace("globex", "Globex")
    globex_admin = make_member(globex, "admin@globex.test", role=Membership.Role.ADMIN)
    globex_link = make_link(make_member(globex, "rep@globex.test"), slug="rep", is_default=True)
    globex_connection = connect_workspace(globex, globex_admin, sfdc_emulator)
    acme_booking = team.book("alice")
    globex_booking = booking_create(
        link=globex_link, name="Jane Roe", email="jane.roe@globex.com", start=link_free_slots(globex_link)[0]
    )
    return team, globex_connection, acme_booking, globex_booking


def rows_of(workspace_id) -> dict:
    """Every booking, outbox, attempt, sync and recap row of one workspace."""
    from bookings.models import Booking
    from integrations.salesforce.models import SyncAttempt
    from notetaker.models import RecapNoteLink

    def listed(queryset):
        return list(queryset.order_by("pk").values())

    return {
        "bookings": listed(Booking.objects.filter(workspace_id=workspace_id)),
        "operations": listed(SyncOperation.objects.filter(workspace_id=workspace_id)),
        "attempts": listed(SyncAttempt.objects.filter(operation__workspace_id=workspace_id)),
        "syncs": listed(BookingSync.objects.filter(workspace_id=workspace_id)),
        "recaps": listed(Recap.objects.filter(booking__workspace_id=workspace_id)),
        "notes": listed(RecapNoteLink.objects.filter(recap__booking__workspace_id=workspace_id)),
    }


def events_for(emulator, booking) -> list[dict]:
    marker = payloads.booking_marker(booking)
    return [e for e in emulator.control.records("Event") if marker in (e.get("Description") or "")]


def test_draining_one_connection_leaves_the_other_workspace_alone(two_tenants, sfdc_emulator):
    team, globex_connection, acme_booking, globex_booking = two_tenants
    globex_before = rows_of(globex_booking.workspace_id)
    globex_connection_before = type(globex_connection).objects.filter(pk=globex_connection.pk).values().get()

    drain(team.connection.pk)

    assert len(events_for(sfdc_emulator, acme_booking)) == 1
    assert events_for(sfdc_emulator, globex_booking) == []
    assert rows_of(globex_booking.workspace_id) == globex_before
    after = type(globex_connection).objects.filter(pk=globex_connection.pk).values().get()
    assert after == globex_connection_before
    assert SyncOperation.objects.get(booking=globex_booking).state == State.PENDING

    drain(globex_connection.pk)

    assert len(events_for(sfdc_emulator, globex_booking)) == 1
    assert len(events_for(sfdc_emulator, acme_booking)) == 1


def test_an_outbox_row_naming_another_workspaces_booking_is_not_sent(two_tenants, sfdc_emulator):
    team, globex_connection, _, globex_booking = two_tenants
    drain(globex_connection.pk)
    globex_sync_before = BookingSync.objects.filter(booking=globex_booking).values().get()
    stray = SyncOperation.objects.create(
        workspace=team.workspace,
        connection=team.connection,
        booking=globex_booking,
        kind=SyncOperation.Kind.BOOKING,
        trigger=SyncOperation.Trigger.RESCHEDULED,
    )

    drain(team.connection.pk)

    stray.refresh_from_db()
    assert stray.state == State.SKIPPED
    assert len(events_for(sfdc_emulator, globex_booking)) == 1  # only Globex's own Event
    assert BookingSync.objects.filter(booking=globex_booking).values().get() == globex_sync_before


def test_a_recap_row_naming_another_workspaces_booking_is_not_sent(two_tenants, sfdc_emulator):
    team, _, _, globex_booking = two_tenants
    team.connection.object_scope = team.connection.ObjectScope.EVENTS_AND_NOTES
    team.connection.save(update_fields=["object_scope"])
    Recap.objects.create(
        booking=globex_booking, summary="Globex's confidential recap", content_changed_at=timezone.now()
    )
    notes_before = len(sfdc_emulator.control.records("Note"))
    stray = SyncOperation.objects.create(
        workspace=team.workspace,
        connection=team.connection,
        booking=globex_booking,
        kind=SyncOperation.Kind.RECAP,
        trigger=SyncOperation.Trigger.RECAP,
    )

    drain(team.connection.pk)

    stray.refresh_from_db()
    # Acme's drain does not even see Globex's recap.
    assert (stray.state, stray.outcome) == (State.SKIPPED, "not pushed: the booking has no recap")
    assert len(sfdc_emulator.control.records("Note")) == notes_before
    assert not any("confidential" in (n.get("Body") or "") for n in sfdc_emulator.control.records("Note"))
