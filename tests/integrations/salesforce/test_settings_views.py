"""The settings pages without Salesforce: what each role sees and may do, tenancy, the
not-configured state, the replace confirmation, and the per-link toggle."""

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from integrations.salesforce import oauth
from integrations.salesforce.client import OAuthClient
from integrations.salesforce.errors import RetryableError
from integrations.salesforce.models import LinkPushSetting, SalesforceConnection, SyncOperation, UserMappingOverride
from tests.fixtures.factories import make_booking, make_link, make_member
from workestra.models import User

pytestmark = pytest.mark.django_db

Connection = SalesforceConnection
BASE = "/settings/integrations/salesforce/"
ORG_ID = "00D5g000004PrdAAAA"
POST_URLS = [BASE + "connect/", BASE + "settings/", BASE + "mapping/", BASE + "mapping/refresh/", BASE + "disconnect/"]
GET_URLS = [BASE, BASE + "mapping/", BASE + "callback/?code=abc&state=xyz"]


def make_connection(workspace, **fields) -> SalesforceConnection:
    values = {
        "status": Connection.Status.CONNECTED,
        "environment": Connection.Environment.PRODUCTION,
        "org_id": ORG_ID,
        "sf_user_id": "0055g00000AdminAAA",
        "sf_username": "admin@acme.test",
        "sf_display_name": "Ada Admin",
        "instance_url": "https://127.0.0.1:9",
        "access_token": "00Dfake!access-token-for-views",
        "refresh_token": "5Aepfake-refresh-token-for-views",
        "connected_at": timezone.now(),
        **fields,
    }
    return Connection.objects.create(workspace=workspace, **values)


def page_html(response) -> str:
    return html.unescape(response.content.decode())


def page_text(response) -> str:
    """What a reader sees: tags stripped, whitespace collapsed."""
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.fixture
def sf_hosts(settings):
    settings.SALESFORCE_CLIENT_ID = "workestra-local-client"
    settings.SALESFORCE_CLIENT_SECRET = "workestra-local-secret"
    settings.SALESFORCE_LOGIN_URL = "https://login.example.test"
    settings.SALESFORCE_SANDBOX_LOGIN_URL = "https://test.example.test"
    return settings


# ---- status and roles -----------------------------------------------------------------------
def test_not_configured_names_the_settings_and_disables_connect(client, admin_user, settings):
    settings.SALESFORCE_CLIENT_ID = ""
    client.force_login(admin_user)

    response = client.get(BASE)
    text = page_text(response)

    assert "Not configured" in text
    assert "Integration not configured." in text
    assert "SALESFORCE_CLIENT_ID" in text and "SALESFORCE_CLIENT_SECRET" in text
    assert "Setup → App Manager" in text
    assert "Ask support or your workspace admin." in text
    assert 'id="connect-button" disabled' in page_html(response)

    response = client.post(BASE + "connect/", {"environment": "production"}, follow=True)
    assert (
        "Salesforce integration not configured: SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are not set."
        in page_text(response)
    )
    assert oauth.SESSION_KEY not in client.session


def test_disconnected_admin_sees_connect_with_environment_picker(client, admin_user, sf_hosts):
    client.force_login(admin_user)

    markup = page_html(client.get(BASE))

    assert 'id="sf-status">Disconnected<' in markup
    assert 'value="production"' in markup and 'value="sandbox"' in markup
    assert 'id="connect-button">Connect<' in markup


def test_member_sees_status_read_only(client, member_user, workspace, sf_hosts):
    make_connection(workspace)
    client.force_login(member_user)

    response = client.get(BASE)
    text = page_text(response)

    assert response.status_code == 200
    assert f"Connected as Ada Admin (admin@acme.test) to org {ORG_ID} (Production)" in text
    assert "Only workspace admins can change these settings." in text
    assert f'action="{BASE}' not in page_html(response)  # no connect, settings or disconnect form
    assert "Events only" in text  # the settings, read-only


@pytest.mark.parametrize("url", POST_URLS)
def test_member_gets_403_on_every_post(client, member_user, workspace, sf_hosts, url):
    connection = make_connection(workspace)
    client.force_login(member_user)

    response = client.post(
        url,
        {
            "environment": "sandbox",
            "confirm_replace": "1",
            "confirm": "1",
            "object_scope": "events_notes",
            "cancel_behaviour": "mark_closed",
            "no_match_behaviour": "skip",
            f"sf_user_{member_user.pk}": "0055g00000AdminAAA",
        },
    )

    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert connection.object_scope == Connection.ObjectScope.EVENTS
    assert not UserMappingOverride.objects.exists()
    assert oauth.SESSION_KEY not in client.session


def test_member_cannot_complete_a_callback(client, member_user, workspace, sf_hosts):
    client.force_login(member_user)
    assert client.get(BASE + "callback/?code=abc&state=xyz").status_code == 403
    assert not Connection.objects.exists()


@pytest.mark.parametrize("method,url", [("get", u) for u in GET_URLS] + [("post", u) for u in POST_URLS])
def test_user_without_a_workspace_gets_404_everywhere(client, workspace, sf_hosts, method, url):
    make_connection(workspace)
    outsider = User.objects.create_user(email="nobody@else.test", password="x")
    client.force_login(outsider)

    assert getattr(client, method)(url).status_code == 404


def test_another_workspace_sees_only_its_own_connection(
    client, workspace, member_user, other_workspace_member, sf_hosts
):
    make_connection(workspace)
    link = make_link(member_user, slug="intro")
    client.force_login(other_workspace_member)

    settings_text = page_html(client.get(BASE))
    mapping_text = page_html(client.get(BASE + "mapping/"))

    assert 'id="sf-status">Disconnected<' in settings_text
    assert ORG_ID not in settings_text and "Ada Admin" not in settings_text
    assert member_user.email not in mapping_text
    assert client.post(BASE + f"links/{link.pk}/toggle/", {"push_enabled": "off"}).status_code == 404
    assert not LinkPushSetting.objects.exists()


def test_connected_page_shows_usage_deferral_queue_errors_and_missing_permissions(
    client, admin_user, workspace, sf_hosts
):
    deferred_until = timezone.now() + timedelta(hours=1)
    connection = make_connection(
        workspace,
        api_usage_used=4500,
        api_usage_total=5000,
        api_usage_seen_at=timezone.now(),
        deferred_until=deferred_until,
        deferred_reason="Salesforce API usage is at 90% of the org's daily allotment.",
        missing_permissions=["Create on Note", "Edit on Note"],
    )
    booking = make_booking(make_link(admin_user, slug="demo"), name="Jane Roe")
    verbatim = "Required fields are missing: [DurationInMinutes]"
    SyncOperation.objects.create(
        workspace=workspace,
        connection=connection,
        booking=booking,
        trigger="confirmed",
        state="failed",
        attempts=1,
        error_code="REQUIRED_FIELD_MISSING",
        error_message=verbatim,
    )
    SyncOperation.objects.create(
        workspace=workspace, connection=connection, booking=booking, trigger="rescheduled", state="pending"
    )
    client.force_login(admin_user)

    response = client.get(BASE)
    text = page_text(response)

    assert f"Connected as Ada Admin (admin@acme.test) to org {ORG_ID} (Production)" in text
    assert "4,500 / 5,000 (90.0%)" in text
    assert f"Pushes are paused until {deferred_until:%H:%M} UTC because Salesforce API usage is at 90%" in text
    assert 'id="open-operations">1<' in page_html(response)
    assert f"REQUIRED_FIELD_MISSING: {verbatim}" in text and "Jane Roe" in text
    assert (
        "The connected Salesforce user lacks: Create on Note, Edit on Note. "
        "Ask your Salesforce admin to grant them, or choose Events only." in text
    )
    for label in (
        "User mapping",
        "Reconnect",
        "Disconnect",
        "Events + Notes (for recap push)",
        "Keep the Event, marked cancelled",
        "Skip the booking",
    ):
        assert label in text


def test_needs_reconnect_shows_reason_and_reconnect_for_admins_only(
    client, admin_user, member_user, workspace, sf_hosts
):
    make_connection(
        workspace,
        status=Connection.Status.NEEDS_RECONNECT,
        last_error="Salesforce no longer accepts Workestra's access (expired access/refresh token).",
    )

    client.force_login(admin_user)
    admin_text = page_html(client.get(BASE))
    client.force_login(member_user)
    member_text = page_html(client.get(BASE))

    for text in (admin_text, member_text):
        assert 'id="sf-status">Needs reconnect<' in text
        assert "(expired access/refresh token)" in text
    assert ">Reconnect</button>" in admin_text
    assert f'action="{BASE}settings/"' not in admin_text  # saving needs a working connection
    assert "Reconnect to change these" in admin_text
    assert ">Reconnect</button>" not in member_text
    assert "Ask a workspace admin to reconnect." in member_text


# ---- connect ----------------------------------------------------------------------------------
@pytest.mark.parametrize("environment,host", [("production", "login.example.test"), ("sandbox", "test.example.test")])
def test_connect_redirects_to_the_environments_authorize_url_with_state_and_pkce(
    client, admin_user, sf_hosts, environment, host
):
    client.force_login(admin_user)

    response = client.post(BASE + "connect/", {"environment": environment})

    url = urlsplit(response["Location"])
    query = parse_qs(url.query)
    pending = client.session[oauth.SESSION_KEY]
    assert (url.scheme, url.netloc, url.path) == ("https", host, "/services/oauth2/authorize")
    assert query["response_type"] == ["code"] and query["client_id"] == ["workestra-local-client"]
    assert query["redirect_uri"] == [f"{sf_hosts.PUBLIC_BASE_URL}/settings/integrations/salesforce/callback/"]
    assert query["scope"] == ["api refresh_token offline_access"]
    assert query["state"] == [pending["state"]] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [oauth._code_challenge(pending["verifier"])]
    assert pending["environment"] == environment and pending["user_id"] == admin_user.pk


def test_connecting_the_other_environment_asks_to_confirm_first(client, admin_user, workspace, sf_hosts):
    make_connection(workspace, environment=Connection.Environment.PRODUCTION)
    client.force_login(admin_user)

    confirm = client.post(BASE + "connect/", {"environment": "sandbox"})

    assert confirm.status_code == 200
    assert (
        f"Connecting Sandbox replaces the Production connection (Ada Admin (admin@acme.test) to org {ORG_ID} (Production))"
        in page_text(confirm)
    )
    assert oauth.SESSION_KEY not in client.session

    confirmed = client.post(BASE + "connect/", {"environment": "sandbox", "confirm_replace": "1"})

    assert confirmed.status_code == 302 and confirmed["Location"].startswith(
        "https://test.example.test/services/oauth2/authorize?"
    )


@pytest.mark.parametrize(
    "status,environment,asks",
    [
        (Connection.Status.CONNECTED, "production", True),  # any connected org
        (Connection.Status.NEEDS_RECONNECT, "production", True),
        (Connection.Status.DISCONNECTED, "sandbox", True),  # the other environment's org
        (Connection.Status.DISCONNECTED, "production", False),
    ],
)
def test_which_connects_need_confirmation(client, admin_user, workspace, sf_hosts, status, environment, asks):
    make_connection(workspace, status=status, environment="production")
    client.force_login(admin_user)

    response = client.post(BASE + "connect/", {"environment": environment})

    assert (response.status_code == 200) is asks
    assert (oauth.SESSION_KEY in client.session) is not asks


def test_connect_refuses_an_unknown_environment(client, admin_user, sf_hosts):
    client.force_login(admin_user)
    response = client.post(BASE + "connect/", {"environment": "both"}, follow=True)
    assert "Pick Production or Sandbox." in page_text(response)
    assert oauth.SESSION_KEY not in client.session


# ---- the callback's error paths (the full flow is in test_connect_flow.py) ----------------------
def _start(client, environment="production") -> str:
    client.post(BASE + "connect/", {"environment": environment})
    return client.session[oauth.SESSION_KEY]["state"]


def test_callback_access_denied_says_you_cancelled(client, admin_user, sf_hosts):
    client.force_login(admin_user)
    state = _start(client)

    response = client.get(
        BASE + "callback/",
        {"error": "access_denied", "error_description": "end-user denied authorization", "state": state},
        follow=True,
    )

    assert response.status_code == 200
    assert "You cancelled at Salesforce; nothing was changed." in page_text(response)
    assert oauth.SESSION_KEY not in client.session
    assert not Connection.objects.exists()


def test_callback_other_error_shows_salesforces_description(client, admin_user, sf_hosts):
    client.force_login(admin_user)
    state = _start(client)

    response = client.get(
        BASE + "callback/",
        {"error": "invalid_scope", "error_description": "the requested scope is not allowed", "state": state},
        follow=True,
    )

    assert "Salesforce refused the connection (invalid_scope): the requested scope is not allowed" in page_text(
        response
    )
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "query,message",
    [
        ({"code": "aPrxabc"}, "This sign-in link has expired or was already used. Start again with Connect."),
        (
            {"code": "aPrxabc", "state": "forged"},
            "The reply from Salesforce doesn't match the connect you started. Start again with Connect.",
        ),
        ({"state": "__pending__"}, "Salesforce sent no authorization code. Start again with Connect."),
    ],
)
def test_callback_state_problems_store_nothing(client, admin_user, sf_hosts, query, message):
    client.force_login(admin_user)
    state = _start(client)
    query = {k: (state if v == "__pending__" else v) for k, v in query.items()}

    response = client.get(BASE + "callback/", query, follow=True)

    assert response.status_code == 200
    assert message in page_text(response)
    assert not Connection.objects.exists()


def test_callback_without_a_started_connect_is_refused(client, admin_user, sf_hosts):
    client.force_login(admin_user)
    response = client.get(BASE + "callback/", {"code": "aPrxabc", "state": "whatever"}, follow=True)
    assert "This sign-in link has expired or was already used." in page_text(response)
    assert not Connection.objects.exists()


# ---- disconnect and settings need a connection ------------------------------------------------
def test_disconnect_asks_to_confirm(client, admin_user, workspace, sf_hosts):
    connection = make_connection(workspace)
    client.force_login(admin_user)

    response = client.post(BASE + "disconnect/")

    assert response.status_code == 200
    assert "Disconnect Salesforce?" in page_text(response)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED and connection.refresh_token


def test_settings_refuse_an_unknown_choice(client, admin_user, workspace, sf_hosts):
    connection = make_connection(workspace)
    client.force_login(admin_user)

    response = client.post(
        BASE + "settings/", {"object_scope": "everything", "cancel_behaviour": "delete", "no_match_behaviour": "create"}
    )

    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.object_scope == Connection.ObjectScope.EVENTS


def test_settings_need_a_connection(client, admin_user, sf_hosts):
    client.force_login(admin_user)
    response = client.post(
        BASE + "settings/",
        {"object_scope": "events", "cancel_behaviour": "delete", "no_match_behaviour": "create"},
        follow=True,
    )
    assert "Connect Salesforce before changing its settings." in page_text(response)


# ---- the per-link toggle ----------------------------------------------------------------------
@pytest.fixture
def owners_link(member_user):
    return make_link(member_user, slug="intro", title="30 min intro")


def _toggle(client, link, value):
    return client.post(BASE + f"links/{link.pk}/toggle/", {"push_enabled": value})


def test_link_owner_turns_push_off_and_on(client, member_user, workspace, owners_link):
    make_connection(workspace)
    client.force_login(member_user)

    response = _toggle(client, owners_link, "off")

    assert response.status_code == 302 and response["Location"] == f"/links/{owners_link.pk}/integrations/"
    setting = LinkPushSetting.objects.get(link=owners_link)
    assert setting.push_enabled is False and setting.updated_by == member_user
    followed = page_text(client.get(response["Location"]))
    assert (
        "Push to Salesforce is off for “30 min intro”. It applies to new bookings; bookings already pushed stay in step."
        in followed
    )

    _toggle(client, owners_link, "on")
    assert LinkPushSetting.objects.get(link=owners_link).push_enabled is True


def test_admin_may_toggle_any_link_of_the_workspace(client, admin_user, workspace, owners_link):
    client.force_login(admin_user)
    assert _toggle(client, owners_link, "off").status_code == 302
    assert LinkPushSetting.objects.get(link=owners_link).updated_by == admin_user


def test_another_member_gets_403_and_another_workspace_404(client, workspace, owners_link, other_workspace_member):
    colleague = make_member(workspace, "colleague@acme.test")
    client.force_login(colleague)
    assert _toggle(client, owners_link, "off").status_code == 403

    client.force_login(other_workspace_member)
    assert _toggle(client, owners_link, "off").status_code == 404
    assert not LinkPushSetting.objects.exists()


def test_toggle_rejects_other_values(client, member_user, owners_link):
    client.force_login(member_user)
    assert _toggle(client, owners_link, "maybe").status_code == 400
    assert client.get(BASE + f"links/{owners_link.pk}/toggle/").status_code == 405
    assert not LinkPushSetting.objects.exists()


def test_link_panel_is_on_by_default_and_states_the_rule(client, member_user, workspace, owners_link):
    make_connection(workspace)
    client.force_login(member_user)

    response = client.get(f"/links/{owners_link.pk}/integrations/")
    text, markup = page_text(response), page_html(response)

    assert "Push to Salesforce: On" in text
    assert "The toggle applies to new bookings; bookings already pushed stay in step" in text
    assert f'action="{BASE}links/{owners_link.pk}/toggle/"' in markup
    assert 'name="push_enabled" value="off"' in markup


def test_link_panel_is_disabled_with_an_explanation_when_not_connected(client, member_user, owners_link):
    client.force_login(member_user)

    response = client.get(f"/links/{owners_link.pk}/integrations/")
    text, markup = page_text(response), page_html(response)

    assert "Salesforce isn't connected for this workspace, so nothing is pushed." in text
    assert "A workspace admin can connect it." in text
    assert '<button type="button" disabled>' in markup
    assert "/toggle/" not in markup


def test_disconnect_shows_the_warning_when_salesforce_cannot_confirm_the_revoke(
    client, admin_user, workspace, sf_hosts, monkeypatch
):
    def unreachable(self, *, token):
        raise RetryableError("Salesforce could not be reached: ConnectTimeout", code="CONNECTION_ERROR")

    monkeypatch.setattr(OAuthClient, "revoke", unreachable)
    connection = make_connection(workspace)
    client.force_login(admin_user)

    text = page_text(client.post(BASE + "disconnect/", {"confirm": "1"}, follow=True))

    assert "Salesforce could not be reached to revoke the token; it was deleted here." in text
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED and connection.refresh_token == ""
