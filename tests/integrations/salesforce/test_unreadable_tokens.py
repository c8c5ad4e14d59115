"""Tokens that no configured key decrypts (TOKEN_ENCRYPTION_KEYS rotated without
rotate_token_keys): public booking keeps working, nothing answers 500, and the connection says
"needs reconnect" with the reason as soon as something needs the tokens."""

import html

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.utils.html import strip_tags

from integrations.salesforce import crypto
from integrations.salesforce.errors import NeedsReconnectError
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.tokens import refresh_access_token

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

Connection = SalesforceConnection
REASON = "Needs reconnect: the stored tokens can't be read with the configured keys."


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.fixture
def unrelated_key(team, settings):
    stale = str(team.connection.access_token)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return stale


def test_public_booking_still_works_and_the_settings_page_says_why(team, unrelated_key, client, monkeypatch):
    invitee = Client()
    start = team.free_slot("alice")
    decrypted = []
    real_decrypt = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda value: decrypted.append(1) or real_decrypt(value))

    response = invitee.post(
        "/book/acme/alice/", {"name": "Jane Roe", "email": "jane.roe@globex.com", "start": start.isoformat()}
    )

    assert response.status_code == 302 and response["Location"].startswith("/bookings/")
    assert SyncOperation.objects.filter(connection=team.connection, state=SyncOperation.State.PENDING).count() == 1
    assert decrypted == []  # the hot path never decrypts
    assert team.refresh().status == Connection.Status.CONNECTED

    client.force_login(team.admin)
    page = client.get("/settings/integrations/salesforce/")

    assert page.status_code == 200
    assert REASON in text_of(page) and 'id="sf-status">Needs reconnect<' in page.content.decode()
    assert team.refresh().last_error.startswith(REASON)


def test_the_drain_flips_the_connection_instead_of_failing(team, unrelated_key, sfdc_emulator):
    team.book("alice")
    sfdc_emulator.control.reset_calls()

    team.drain(timeout=5)

    connection = team.refresh()
    assert connection.status == Connection.Status.NEEDS_RECONNECT and connection.last_error.startswith(REASON)
    assert sfdc_emulator.control.count_calls()["count"] == 0  # nothing sent with tokens it can't read
    op = SyncOperation.objects.get(connection=connection)
    assert (op.state, op.error_code) == (SyncOperation.State.WAITING_RECONNECT, "TOKENS_UNREADABLE")
    assert sfdc_emulator.control.count_calls("/services")["count"] == 0  # nothing was sent
    assert not team.events()


def test_a_refresh_flips_the_connection_instead_of_failing(team, unrelated_key, sfdc_emulator):
    with pytest.raises(NeedsReconnectError, match="the stored tokens can't be read"):
        refresh_access_token(team.connection.pk, unrelated_key)

    assert team.refresh().status == Connection.Status.NEEDS_RECONNECT
    assert sfdc_emulator.control.count_calls("/services/oauth2/token")["count"] == 1  # the connect only


def test_putting_the_old_key_back_makes_the_tokens_readable_again(team, settings):
    old_keys = list(settings.TOKEN_ENCRYPTION_KEYS)
    access = str(team.connection.access_token)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    unreadable = Connection.objects.get(pk=team.connection.pk)
    unreadable.last_error = "saved while unreadable"
    unreadable.save()  # must not destroy the ciphertext

    settings.TOKEN_ENCRYPTION_KEYS = old_keys
    assert str(Connection.objects.get(pk=team.connection.pk).access_token) == access


def test_disconnect_with_unreadable_tokens_deletes_them_and_says_revoke_by_hand(
    team, unrelated_key, client, sfdc_emulator
):
    client.force_login(team.admin)

    response = client.post("/settings/integrations/salesforce/disconnect/", {"confirm": "1"}, follow=True)

    assert response.status_code == 200
    assert (
        "Workestra's token could not be revoked at Salesforce (the stored tokens can't be read with the configured keys)"
        in text_of(response)
    )
    connection = team.refresh()
    assert connection.status == Connection.Status.DISCONNECTED and connection.refresh_token == ""
    assert sfdc_emulator.control.count_calls("/services/oauth2/revoke")["count"] == 0


def test_the_routing_form_falls_back_instead_of_failing(team, settings, sfdc_emulator):
    from tests.routing.routing_support import save_form, sf_route

    save_form(team.workspace, routes=[sf_route()], fallback=team.links["alice"])
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    sfdc_emulator.control.reset_calls()

    response = Client().post(
        "/forms/acme/talk/", {"email": "jane.roe@globex.com", "company": "Any Co", "name": "Jane Roe"}
    )

    assert response.status_code == 302 and response["Location"].startswith("/book/acme/alice/")  # the fallback
    connection = team.refresh()
    assert connection.status == Connection.Status.NEEDS_RECONNECT and connection.last_error.startswith(REASON)
