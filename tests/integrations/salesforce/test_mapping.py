"""User mapping against the emulator's org: email match by default, admin overrides, the
unmapped clearly marked, and the org's users refreshed on demand."""

import html
import re

import pytest
from django.utils.html import strip_tags

from integrations.salesforce.models import UserMappingOverride
from sfdc_emulator import seed
from tests.fixtures.factories import make_member
from tests.fixtures.salesforce import connect_workspace

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

MAPPING = "/settings/integrations/salesforce/mapping/"
CAROL_SALES_ID = seed.USER_IDS[seed.CAROL]
BOB_ID = seed.USER_IDS[seed.BOB]


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


def row(response, email: str) -> str:
    """The visible text of one member's row."""
    markup = response.content.decode()
    match = re.search(rf'<tr data-member="{re.escape(email)}">(.*?)</tr>', markup, re.S)
    assert match, f"no row for {email}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


@pytest.fixture
def team(workspace, admin_user, sf_settings, sfdc_emulator):
    members = {
        email: make_member(workspace, email) for email in ("alice@acme.test", "bob@acme.test", "carol@acme.test")
    }
    connection = connect_workspace(workspace, admin_user, sfdc_emulator)
    return connection, members


def test_default_mapping_is_by_email_and_the_unmapped_are_marked(client, admin_user, team):
    client.force_login(admin_user)

    response = client.get(MAPPING)

    assert row(response, "alice@acme.test").startswith(
        "Alice alice@acme.test Alice Anders alice@acme.test matched by email"
    )
    assert "Ada Admin admin@acme.test matched by email" in row(response, "admin@acme.test")
    assert "NOT MAPPED Events use the connecting user." in row(response, "carol@acme.test")
    markup = response.content.decode()
    assert f'<option value="{CAROL_SALES_ID}">Carol Chen (carol.sales@acme.test)</option>' in markup
    assert "Fran Former" not in markup  # inactive users can't own Events
    assert '<option value="" selected>Match by email</option>' in markup


def test_admin_maps_carol_by_hand_and_can_go_back_to_email(client, admin_user, team):
    connection, members = team
    carol = members["carol@acme.test"]
    client.force_login(admin_user)

    saved = client.post(MAPPING, {f"sf_user_{carol.pk}": CAROL_SALES_ID}, follow=True)

    assert "User mapping saved (1 changed)." in text_of(saved)
    assert "Carol Chen carol.sales@acme.test set by admin" in row(saved, "carol@acme.test")
    assert UserMappingOverride.objects.get(connection=connection, user=carol).sf_user_id == CAROL_SALES_ID
    assert f'<option value="{CAROL_SALES_ID}" selected>' in saved.content.decode()

    reverted = client.post(MAPPING, {f"sf_user_{carol.pk}": ""}, follow=True)

    assert "NOT MAPPED" in row(reverted, "carol@acme.test")
    assert not UserMappingOverride.objects.exists()


def test_an_unknown_or_inactive_salesforce_user_is_refused(client, admin_user, team):
    _, members = team
    client.force_login(admin_user)

    response = client.post(MAPPING, {f"sf_user_{members['carol@acme.test'].pk}": seed.USER_IDS[seed.FORMER]})

    assert response.status_code == 400
    assert "Some choices were not valid; nothing was saved." in text_of(response)
    assert not UserMappingOverride.objects.exists()


def test_members_see_the_mapping_but_cannot_change_it(client, team, member_user):
    _, members = team
    client.force_login(member_user)

    page = client.get(MAPPING)

    assert page.status_code == 200
    assert "NOT MAPPED" in row(page, "carol@acme.test")
    assert "<select" not in page.content.decode() and "Refresh Salesforce users" not in text_of(page)
    assert client.post(MAPPING, {f"sf_user_{members['carol@acme.test'].pk}": CAROL_SALES_ID}).status_code == 403
    assert client.post(MAPPING + "refresh/").status_code == 403
    assert not UserMappingOverride.objects.exists()


def test_refresh_salesforce_users_picks_up_changes_in_the_org(client, admin_user, team, sfdc_emulator):
    client.force_login(admin_user)
    assert "matched by email" in row(client.get(MAPPING), "bob@acme.test")
    sfdc_emulator.control.update_record("User", BOB_ID, {"IsActive": False})

    response = client.post(MAPPING + "refresh/", follow=True)

    # Active standard users only: not the deactivated one, and not Bob's partner-community
    # login that shares his email (so Bob is not mapped to it either).
    active_standard = sum(1 for user in seed.USERS if user[4]) - 1
    assert f"Fetched {active_standard} Salesforce users." in text_of(response)
    assert "NOT MAPPED" in row(response, "bob@acme.test")


def test_mapping_before_connecting_says_so(client, admin_user, sf_settings):
    client.force_login(admin_user)
    assert "Salesforce is not connected. Connect it first." in text_of(client.get(MAPPING))
