"""The OAuth callback under attack: forged, reused, cross-session and missing state, and
Salesforce's error replies. Each probe carries a REAL authorization code from the emulator, so
a missing check would connect the workspace; it must instead store nothing, spend no token
call, never answer 500, and say plainly what happened.
(tests/integrations/salesforce/test_connect_flow.py covers the happy paths in depth.)"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from integrations.salesforce import oauth
from integrations.salesforce.models import SalesforceConnection
from sfdc_emulator import seed
from tests.fixtures.emulator import sign_in_and_consent
from tests.fixtures.factories import make_member
from tests.security.security_support import (
    XSS_ATTR,
    XSS_SCRIPT,
    assert_no_raw_markup,
    body,
    page_text,
)
from workestra.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

BASE = "/settings/integrations/salesforce/"
CALLBACK = BASE + "callback/"
EXPIRED = "This sign-in link has expired or was already used. Start again with Connect."
MISMATCH = "The reply from Salesforce doesn't match the connect you started. Start again with Connect."
TOKEN_PATH = "/services/oauth2/token"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start(client) -> str:
    response = client.post(BASE + "connect/", {"environment": "production"})
    assert response.status_code == 302
    return response["Location"]


def real_callback(emulator, authorize_url) -> dict:
    """Sign in and consent at the emulator; the callback's query (a real code and state)."""
    location = urlsplit(sign_in_and_consent(emulator, authorize_url, seed.ADMIN))
    assert location.path == CALLBACK
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def token_calls(emulator) -> int:
    return emulator.control.count_calls(TOKEN_PATH)["count"]


@pytest.fixture
def admins(db, workspace, admin_user, sf_settings):
    second = make_member(workspace, "second.admin@acme.test", role=Membership.Role.ADMIN)
    return signed_in(admin_user), signed_in(second)


def assert_refused(response, message, emulator, workspace):
    assert response.status_code == 200, response.status_code
    assert message in page_text(response)
    assert not SalesforceConnection.objects.filter(workspace=workspace).exists()
    assert token_calls(emulator) == 0


def test_the_authorize_request_has_state_pkce_and_the_exact_redirect_uri(admins, sf_settings, sfdc_emulator):
    client, _ = admins
    query = parse_qs(urlsplit(start(client)).query)
    pending = client.session[oauth.SESSION_KEY]

    assert query["redirect_uri"] == [sf_settings.PUBLIC_BASE_URL + "/settings/integrations/salesforce/callback/"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == [
        oauth._code_challenge(pending["verifier"])
    ]
    assert query["state"] == [pending["state"]] and len(pending["state"]) >= 32
    # The PKCE verifier stays server-side: only its S256 challenge travels.
    assert all(pending["verifier"] not in value for values in query.values() for value in values)


def test_forged_state(admins, workspace, sfdc_emulator):
    client, _ = admins
    query = real_callback(sfdc_emulator, start(client))

    response = client.get(CALLBACK, {"code": query["code"], "state": "forged-" + query["state"][7:]}, follow=True)

    assert_refused(response, MISMATCH, sfdc_emulator, workspace)
    # The pending connect is single-use: the genuine reply is refused after a forged one.
    again = client.get(CALLBACK, query, follow=True)
    assert_refused(again, EXPIRED, sfdc_emulator, workspace)


def test_missing_state(admins, workspace, sfdc_emulator):
    client, _ = admins
    query = real_callback(sfdc_emulator, start(client))

    response = client.get(CALLBACK, {"code": query["code"]}, follow=True)

    assert_refused(response, EXPIRED, sfdc_emulator, workspace)


def test_reused_state(admins, workspace, sfdc_emulator):
    client, _ = admins
    query = real_callback(sfdc_emulator, start(client))
    assert client.get(CALLBACK, query).status_code == 302
    first = SalesforceConnection.objects.get(workspace=workspace)

    response = client.get(CALLBACK, query, follow=True)

    assert response.status_code == 200 and EXPIRED in page_text(response)
    again = SalesforceConnection.objects.get(workspace=workspace)
    assert (again.access_token, again.connected_at, again.connected_by_id) == (
        first.access_token,
        first.connected_at,
        first.connected_by_id,
    )
    assert token_calls(sfdc_emulator) == 1


def test_state_from_another_admins_session(admins, workspace, sfdc_emulator):
    """Admin A starts a connect; the reply is replayed in admin B's session (a link sent to
    B, or B's browser fixated on A's callback). B has no pending connect: refused."""
    client_a, client_b = admins
    query = real_callback(sfdc_emulator, start(client_a))

    response = client_b.get(CALLBACK, query, follow=True)

    assert_refused(response, EXPIRED, sfdc_emulator, workspace)
    assert oauth.SESSION_KEY in client_a.session  # A's own connect is untouched


def test_state_from_another_admins_session_while_both_connect(admins, workspace, sfdc_emulator):
    client_a, client_b = admins
    query = real_callback(sfdc_emulator, start(client_a))
    start(client_b)

    response = client_b.get(CALLBACK, query, follow=True)

    assert_refused(response, MISMATCH, sfdc_emulator, workspace)


def test_state_used_by_an_admin_of_another_workspace(admins, workspace, other_workspace_member, sfdc_emulator):
    client_a, _ = admins
    query = real_callback(sfdc_emulator, start(client_a))
    outsider = signed_in(other_workspace_member)
    start(outsider)

    response = outsider.get(CALLBACK, query, follow=True)

    assert response.status_code == 200 and MISMATCH in page_text(response)
    assert not SalesforceConnection.objects.exists()
    assert token_calls(sfdc_emulator) == 0


def test_a_non_admin_cannot_use_the_callback(workspace, member_user, admins, sfdc_emulator, sf_settings):
    client_a, _ = admins
    query = real_callback(sfdc_emulator, start(client_a))

    response = signed_in(member_user).get(CALLBACK, query)

    assert response.status_code == 403
    assert not SalesforceConnection.objects.exists() and token_calls(sfdc_emulator) == 0


def test_access_denied_at_salesforce(admins, workspace, sfdc_emulator):
    client, _ = admins
    location = urlsplit(sign_in_and_consent(sfdc_emulator, start(client), seed.ADMIN, decision="deny"))

    response = client.get(f"{location.path}?{location.query}", follow=True)

    assert_refused(response, "You cancelled at Salesforce; nothing was changed.", sfdc_emulator, workspace)
    assert oauth.SESSION_KEY not in client.session


@pytest.mark.parametrize("with_state", [True, False], ids=["pending-state", "no-state"])
def test_hostile_error_replies_never_500_and_are_escaped(admins, workspace, sfdc_emulator, with_state):
    client, _ = admins
    start(client)
    state = client.session[oauth.SESSION_KEY]["state"] if with_state else None
    query = {"error": XSS_SCRIPT + "x" * 500, "error_description": XSS_ATTR + "d" * 5000}
    if state:
        query["state"] = state

    response = client.get(CALLBACK, query, follow=True)

    assert response.status_code == 200
    assert_no_raw_markup(body(response), "the settings page after a hostile callback")
    assert not SalesforceConnection.objects.exists() and token_calls(sfdc_emulator) == 0
    assert oauth.SESSION_KEY not in client.session


def test_an_error_reply_without_our_state_does_not_show_attacker_text(admins, workspace, sfdc_emulator):
    """Anyone can send an admin a link to the callback with error_description="Call support at
    +1 555…". Only a reply that carries the pending state is Salesforce's; anything else gets
    the standard "start again" message, and the pending connect is dropped."""
    client, _ = admins
    start(client)
    bait = "Your org is suspended. Call Workestra support at +1 555 0100 now."

    response = client.get(
        CALLBACK, {"error": "server_error", "error_description": bait, "state": "forged"}, follow=True
    )

    assert bait not in page_text(response)
    assert MISMATCH in page_text(response)
    assert oauth.SESSION_KEY not in client.session


def test_a_salesforce_error_with_our_state_is_shown(admins, workspace, sfdc_emulator):
    client, _ = admins
    start(client)
    state = client.session[oauth.SESSION_KEY]["state"]

    response = client.get(
        CALLBACK, {"error": "invalid_scope", "error_description": "scope not allowed", "state": state}, follow=True
    )

    assert "Salesforce refused the connection (invalid_scope): scope not allowed" in page_text(response)
