"""The whole connect flow against the emulator over TLS: the Django test client drives the
real views, and the emulator's sign-in and consent forms are posted like a browser would."""

import html
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils.html import strip_tags

from integrations.salesforce import oauth, tasks
from integrations.salesforce.client import OAuthClient
from integrations.salesforce.errors import NeedsReconnectError
from integrations.salesforce.models import SalesforceConnection, SalesforceUser
from sfdc_emulator import seed
from tests.fixtures.emulator import sign_in_and_consent
from tests.fixtures.factories import make_member
from workestra.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

Connection = SalesforceConnection
BASE = "/settings/integrations/salesforce/"
CALLBACK = BASE + "callback/"
# Seeded users that are active and Standard (the partner and Chatter logins sharing reps'
# emails, and the deactivated user, are never cached).
ACTIVE_STANDARD_USERS = sum(1 for user in seed.USERS if user[4])


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


def start_connect(client, environment="production", **extra) -> str:
    """POST connect; returns the authorize URL the browser is sent to."""
    response = client.post(BASE + "connect/", {"environment": environment, **extra})
    assert response.status_code == 302, text_of(response)
    return response["Location"]


def authorize(emulator, authorize_url, username=seed.ADMIN, decision="allow") -> str:
    """Sign in and answer consent at the emulator; returns the callback path + query."""
    location = urlsplit(sign_in_and_consent(emulator, authorize_url, username, decision=decision))
    assert location.path == CALLBACK
    return f"{location.path}?{location.query}"


def connect_via_views(client, emulator, environment="production", username=seed.ADMIN):
    callback = authorize(emulator, start_connect(client, environment), username)
    return client.get(callback, follow=True)


@pytest.fixture
def admin_session(client, admin_user, sf_settings):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "environment,label,org_id,token_path",
    [
        ("production", "Production", seed.PRODUCTION_ORG_ID, "/services/oauth2/token"),
        ("sandbox", "Sandbox", seed.SANDBOX_ORG_ID, "/sandbox/services/oauth2/token"),
    ],
)
def test_full_connect(
    admin_session,
    admin_user,
    workspace,
    sfdc_emulator,
    environment,
    label,
    org_id,
    token_path,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    queued = []
    monkeypatch.setattr(tasks.refresh_org_users, "apply_async", lambda args, **kw: queued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        response = connect_via_views(admin_session, sfdc_emulator, environment)

    assert response.status_code == 200
    assert f"Connected as Ada Admin (admin@acme.test) to Acme Corp ({label})" in text_of(response)
    connection = Connection.objects.get(workspace=workspace)
    assert connection.status == Connection.Status.CONNECTED and connection.environment == environment
    assert connection.org_id == org_id and connection.org_name == "Acme Corp"
    assert connection.sf_username == seed.ADMIN and connection.connected_by == admin_user
    assert connection.access_token and connection.refresh_token
    assert connection.missing_permissions == [] and connection.last_error == ""
    assert sfdc_emulator.control.count_calls(token_path)["count"] == 1
    assert oauth.SESSION_KEY not in admin_session.session
    # The org's users are a worker's job, never the callback's: queued by name, nothing fetched yet.
    assert queued == [(connection.pk,)] and not SalesforceUser.objects.exists()
    assert "Fetching…" in text_of(admin_session.get(BASE))

    assert tasks.refresh_org_users.run(connection.pk) == ACTIVE_STANDARD_USERS
    cached = set(SalesforceUser.objects.filter(connection=connection).values_list("username", flat=True))
    assert cached == {username for _, username, _, _, active, *_ in seed.USERS if active}


def test_authorize_request_carries_state_pkce_and_scopes(admin_session, sfdc_emulator):
    url = start_connect(admin_session)

    query = parse_qs(urlsplit(url).query)
    pending = admin_session.session[oauth.SESSION_KEY]
    assert url.startswith(sfdc_emulator.login_url + "/services/oauth2/authorize?")
    assert query["scope"] == ["api refresh_token offline_access"] and query["state"] == [pending["state"]]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == [
        oauth._code_challenge(pending["verifier"])
    ]


def test_deny_at_consent_changes_nothing(admin_session, workspace, sfdc_emulator):
    callback = authorize(sfdc_emulator, start_connect(admin_session), decision="deny")

    response = admin_session.get(callback, follow=True)

    assert response.status_code == 200
    assert "You cancelled at Salesforce; nothing was changed." in text_of(response)
    assert not Connection.objects.filter(workspace=workspace).exists()
    assert sfdc_emulator.control.count_calls("/services/oauth2/token")["count"] == 0


def test_callback_without_state_stores_nothing(admin_session, workspace, sfdc_emulator):
    callback = authorize(sfdc_emulator, start_connect(admin_session))
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = admin_session.get(CALLBACK, {"code": code}, follow=True)

    assert response.status_code == 200
    assert "This sign-in link has expired or was already used. Start again with Connect." in text_of(response)
    assert not Connection.objects.exists()
    assert sfdc_emulator.control.count_calls("/services/oauth2/token")["count"] == 0


def test_a_reused_callback_is_refused(admin_session, workspace, sfdc_emulator):
    callback = authorize(sfdc_emulator, start_connect(admin_session))
    admin_session.get(callback)
    first = Connection.objects.get(workspace=workspace)

    response = admin_session.get(callback, follow=True)

    assert response.status_code == 200
    assert "This sign-in link has expired or was already used. Start again with Connect." in text_of(response)
    again = Connection.objects.get(workspace=workspace)
    assert (again.access_token, again.connected_at) == (first.access_token, first.connected_at)
    assert sfdc_emulator.control.count_calls("/services/oauth2/token")["count"] == 1


def test_a_callback_from_another_session_is_refused(admin_session, workspace, sfdc_emulator):
    callback = authorize(sfdc_emulator, start_connect(admin_session))
    other_admin = make_member(workspace, "second.admin@acme.test", role=Membership.Role.ADMIN)
    intruder = Client()
    intruder.force_login(other_admin)

    response = intruder.get(callback, follow=True)

    assert response.status_code == 200
    assert "This sign-in link has expired or was already used. Start again with Connect." in text_of(response)
    assert not Connection.objects.exists()
    # The admin who started it can still finish: the intruder consumed nothing.
    assert "Connected as Ada Admin" in text_of(admin_session.get(callback, follow=True))


def test_a_wrong_pkce_verifier_is_refused_by_salesforce(admin_session, workspace, sfdc_emulator):
    callback = authorize(sfdc_emulator, start_connect(admin_session))
    session = admin_session.session
    session[oauth.SESSION_KEY] = {**session[oauth.SESSION_KEY], "verifier": "not-the-verifier-" + "x" * 40}
    session.save()

    response = admin_session.get(callback, follow=True)

    assert response.status_code == 200
    assert "Salesforce did not accept the sign-in (invalid_grant): invalid code verifier." in text_of(response)
    assert not Connection.objects.exists()


def test_a_wrong_client_secret_gets_a_clear_message(admin_session, workspace, sfdc_emulator, settings):
    settings.SALESFORCE_CLIENT_SECRET = "not-the-secret"
    callback = authorize(sfdc_emulator, start_connect(admin_session))

    response = admin_session.get(callback, follow=True)

    assert response.status_code == 200
    assert (
        "Salesforce refused Workestra's OAuth client (invalid_client): invalid client credentials. "
        "Check SALESFORCE_CLIENT_ID/SECRET" in text_of(response)
    )
    assert "not-the-secret" not in response.content.decode()
    assert not Connection.objects.exists()


def test_missing_note_rights_refuse_events_and_notes_but_events_only_saves(admin_session, workspace, sfdc_emulator):
    connected = connect_via_views(admin_session, sfdc_emulator, username=seed.NONOTES)
    assert "Connected as Nora Nonotes (nonotes@acme.test)" in text_of(connected)
    assert "lacks" not in text_of(connected)  # Events only (the default) needs no Note rights

    refused = admin_session.post(
        BASE + "settings/",
        {"object_scope": "events_notes", "cancel_behaviour": "mark_closed", "no_match_behaviour": "skip"},
    )

    assert refused.status_code == 400
    assert (
        "The connected Salesforce user lacks: Create on Note, Edit on Note. "
        "Ask your Salesforce admin to grant them, or choose Events only. Nothing was saved." in text_of(refused)
    )
    connection = Connection.objects.get(workspace=workspace)
    assert (connection.object_scope, connection.cancel_behaviour, connection.no_match_behaviour) == (
        "events",
        "delete",
        "create",
    )
    assert connection.missing_permissions == []

    saved = admin_session.post(
        BASE + "settings/",
        {"object_scope": "events", "cancel_behaviour": "mark_closed", "no_match_behaviour": "skip"},
        follow=True,
    )

    assert "Salesforce settings saved." in text_of(saved)
    connection.refresh_from_db()
    assert (connection.object_scope, connection.cancel_behaviour, connection.no_match_behaviour) == (
        "events",
        "mark_closed",
        "skip",
    )


def test_events_and_notes_save_when_the_user_has_note_rights(admin_session, workspace, sfdc_emulator):
    connect_via_views(admin_session, sfdc_emulator)

    saved = admin_session.post(
        BASE + "settings/",
        {"object_scope": "events_notes", "cancel_behaviour": "delete", "no_match_behaviour": "create"},
        follow=True,
    )

    assert "Salesforce settings saved." in text_of(saved)
    assert Connection.objects.get(workspace=workspace).object_scope == "events_notes"


def test_a_user_without_api_access_is_named(admin_session, workspace, sfdc_emulator):
    response = connect_via_views(admin_session, sfdc_emulator, username=seed.NOAPI)

    text = text_of(response)
    assert "Connected as Noah Noapi (noapi@acme.test)" in text
    assert (
        'The connected Salesforce user lacks: API access: the profile of noapi@acme.test has no "API Enabled" permission.'
        in text
    )
    connection = Connection.objects.get(workspace=workspace)
    assert connection.missing_permissions == [
        'API access: the profile of noapi@acme.test has no "API Enabled" permission.'
    ]
    page = text_of(admin_session.get(BASE))
    assert "Missing Salesforce permissions. The connected Salesforce user lacks: API access" in page


def test_disconnect_revokes_at_salesforce_and_forgets_the_tokens(admin_session, workspace, sfdc_emulator):
    connect_via_views(admin_session, sfdc_emulator)
    refresh_token = str(Connection.objects.get(workspace=workspace).refresh_token)

    response = admin_session.post(BASE + "disconnect/", {"confirm": "1"}, follow=True)

    assert "Salesforce is disconnected. Workestra's access was revoked and its tokens deleted." in text_of(response)
    assert 'id="sf-status">Disconnected<' in response.content.decode()
    connection = Connection.objects.get(workspace=workspace)
    assert connection.status == Connection.Status.DISCONNECTED
    assert connection.access_token == "" and connection.refresh_token == ""
    assert sfdc_emulator.control.count_calls("/services/oauth2/revoke")["count"] == 1
    with pytest.raises(NeedsReconnectError):
        OAuthClient("production").refresh(refresh_token=refresh_token)


def test_connecting_sandbox_replaces_production_after_confirmation(admin_session, workspace, sfdc_emulator):
    connect_via_views(admin_session, sfdc_emulator, "production")

    confirm = admin_session.post(BASE + "connect/", {"environment": "sandbox"})
    assert "Connecting Sandbox replaces the Production connection" in text_of(confirm)

    url = start_connect(admin_session, "sandbox", confirm_replace="1")
    response = admin_session.get(authorize(sfdc_emulator, url), follow=True)

    assert "Connected as Ada Admin (admin@acme.test) to Acme Corp (Sandbox)" in text_of(response)
    connection = Connection.objects.get(workspace=workspace)  # still one connection per workspace
    assert (connection.environment, connection.org_id) == ("sandbox", seed.SANDBOX_ORG_ID)


def test_reconnect_after_needs_reconnect(admin_session, workspace, sfdc_emulator):
    connect_via_views(admin_session, sfdc_emulator)
    Connection.objects.filter(workspace=workspace).update(
        status=Connection.Status.NEEDS_RECONNECT, last_error="revoked"
    )

    url = start_connect(admin_session, "production", confirm_replace="1")  # the Reconnect button
    response = admin_session.get(authorize(sfdc_emulator, url), follow=True)

    assert "Connected as Ada Admin" in text_of(response)
    connection = Connection.objects.get(workspace=workspace)
    assert connection.status == Connection.Status.CONNECTED and connection.last_error == ""
