"""The settings form's `note_type` (enhanced | classic), its default and its permission check,
against the emulator over its real socket."""

import html

import pytest
from django.utils.html import strip_tags

from integrations.salesforce.models import SalesforceConnection
from integrations.salesforce.services import connection_check_permissions
from tests.fixtures.salesforce import connect_workspace

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
NoteType = SalesforceConnection.NoteType
SETTINGS_URL = "/settings/integrations/salesforce/settings/"
PAGE_URL = "/settings/integrations/salesforce/"


def text(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


def save(client, **fields):
    data = {"object_scope": "events_notes", "cancel_behaviour": "delete", "no_match_behaviour": "create", **fields}
    return client.post(SETTINGS_URL, data)


def test_the_default_is_enhanced_where_the_org_allows_content_note(team):
    connection = team.refresh()
    assert (connection.note_type, connection.note_type_chosen) == (NoteType.ENHANCED, False)


def test_with_notes_turned_off_in_the_org_the_default_is_classic(team):
    team.emulator.control.set_settings(enhanced_notes=0)

    connect_workspace(team.workspace, team.admin, team.emulator)

    assert team.refresh().note_type == NoteType.CLASSIC


def test_the_settings_form_offers_both_types_and_saving_one_keeps_it(team, client):
    client.force_login(team.admin)
    page = client.get(PAGE_URL).content.decode()
    assert 'name="note_type" value="enhanced"' in page and 'name="note_type" value="classic"' in page
    assert "Enhanced Notes show in the Notes list of Lightning records (Notes must be on in Salesforce Setup)" in page

    response = save(client, note_type="classic")

    assert response.status_code == 302
    connection = team.refresh()
    assert (connection.note_type, connection.note_type_chosen) == (NoteType.CLASSIC, True)
    connect_workspace(team.workspace, team.admin, team.emulator)  # a reconnect keeps the admin's choice
    assert team.refresh().note_type == NoteType.CLASSIC


def test_enhanced_is_refused_when_the_org_does_not_allow_content_note(team, client):
    client.force_login(team.admin)
    save(client, note_type="classic")
    team.emulator.control.set_settings(enhanced_notes=0)

    response = save(client, note_type="enhanced")

    assert response.status_code == 400
    message = text(response)
    assert "The connected Salesforce user lacks: Create on ContentNote, Edit on ContentNote." in message
    assert "Enhanced Notes also need Notes turned on in Salesforce Setup" in message
    assert "or choose classic Notes or Events only." in message and "Nothing was saved." in message
    assert team.refresh().note_type == NoteType.CLASSIC


def test_the_check_covers_the_chosen_note_type_only(team):
    team.emulator.control.set_permissions("admin@acme.test", ContentNote={"create": False})
    connection = team.refresh()

    enhanced = connection_check_permissions(
        connection=connection, object_scope="events_notes", note_type=NoteType.ENHANCED
    )
    classic = connection_check_permissions(
        connection=connection, object_scope="events_notes", note_type=NoteType.CLASSIC
    )
    events_only = connection_check_permissions(
        connection=connection, object_scope="events", note_type=NoteType.ENHANCED
    )

    assert enhanced == ["Create on ContentNote"]
    assert classic == [] and events_only == []


def test_a_blank_note_type_keeps_the_current_one(team, client):
    client.force_login(team.admin)

    response = save(client)

    assert response.status_code == 302
    connection = team.refresh()
    assert (connection.note_type, connection.note_type_chosen, connection.object_scope) == (
        NoteType.ENHANCED,
        False,
        "events_notes",
    )
