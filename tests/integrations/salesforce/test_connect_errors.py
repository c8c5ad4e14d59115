"""What a real org answers when a connect can't work, in plain words with what to do next;
the org's name; and the warning when the connected user can't read every Event."""

import html
from urllib.parse import urlsplit

import pytest
from django.utils.html import strip_tags

from integrations.salesforce import services
from integrations.salesforce.errors import PermanentError
from integrations.salesforce.models import SalesforceConnection
from integrations.salesforce.views import connect_error_message
from sfdc_emulator import seed
from tests.fixtures.emulator import sign_in_and_consent

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

Connection = SalesforceConnection
BASE = "/settings/integrations/salesforce/"
TOKEN_PATH = "/services/oauth2/token"


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.fixture
def admin_session(client, admin_user, sf_settings):
    client.force_login(admin_user)
    return client


def connect(client, emulator, username=seed.ADMIN):
    authorize_url = client.post(BASE + "connect/", {"environment": "production"})["Location"]
    callback = urlsplit(sign_in_and_consent(emulator, authorize_url, username))
    return client.get(f"{callback.path}?{callback.query}", follow=True)


@pytest.mark.parametrize(
    "code,expected",
    [
        (
            "OAUTH_EC_APP_NOT_FOUND",
            "Workestra isn't installed in this Salesforce org. Since September 2025 an admin must install a connected app "
            "before users can authorize it: in Salesforce Setup → Connected Apps OAuth Usage, find Workestra and click Install "
            "(or ask your Salesforce admin), then Connect again. Nothing was changed. "
            "(Salesforce said OAUTH_EC_APP_NOT_FOUND: External client app is not installed in this org.)",
        ),
        (
            "OAUTH_APP_BLOCKED",
            "A Salesforce admin has blocked Workestra in this org. Ask your Salesforce admin to unblock it under Setup → "
            "Connected Apps OAuth Usage, then Connect again. Nothing was changed. "
            "(Salesforce said OAUTH_APP_BLOCKED: this app is blocked by admin.)",
        ),
        (
            "inactive_user",
            "That Salesforce user is deactivated. Sign in as an active user, or ask your Salesforce admin to reactivate this one.",
        ),
        ("inactive_org", "That Salesforce org is inactive or locked."),
    ],
)
def test_an_org_refusing_the_app_after_sign_in_is_explained(admin_session, workspace, sfdc_emulator, code, expected):
    sfdc_emulator.control.set_settings(authorize_error=code)

    response = connect(admin_session, sfdc_emulator)

    assert response.status_code == 200
    assert expected in text_of(response)
    assert not Connection.objects.exists()
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == 0


@pytest.mark.parametrize(
    "code,expected",
    [
        ("inactive_user", "That Salesforce user is deactivated."),
        ("inactive_org", "That Salesforce org is inactive or locked."),
        (
            "invalid_client_id",
            "Salesforce refused Workestra's OAuth client (invalid_client_id): client identifier invalid.",
        ),
    ],
)
def test_a_token_endpoint_refusal_at_connect_is_explained(admin_session, workspace, sfdc_emulator, code, expected):
    sfdc_emulator.control.set_settings(token_error=code)

    response = connect(admin_session, sfdc_emulator)

    assert expected in text_of(response) and "Nothing was changed." in text_of(response)
    assert not Connection.objects.exists()
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == 1  # no retry loop


def test_errors_salesforce_shows_on_its_own_page_have_words_too():
    # invalid_client_id / redirect_uri_mismatch at authorize never come back to Workestra (the
    # admin sees Salesforce's error page), but an admin may paste them into a support ticket.
    assert connect_error_message("redirect_uri_mismatch", "redirect_uri must match configuration").startswith(
        "The Connected App's callback URL doesn't match Workestra's. In Salesforce, the app's Callback URL must be exactly "
        "PUBLIC_BASE_URL/settings/integrations/salesforce/callback/."
    )
    assert (
        connect_error_message("strange_thing", "who knows")
        == "Salesforce refused the connection (strange_thing): who knows Nothing was changed."
    )


def test_an_org_without_api_access_is_named_and_never_loops(admin_session, workspace, sfdc_emulator):
    sfdc_emulator.control.set_settings(api_disabled_for_org=True)

    response = connect(admin_session, sfdc_emulator)

    assert "Connected as Ada Admin" in text_of(response)
    assert (
        "The connected Salesforce user lacks: API access for the org: this Salesforce edition or org has the API turned off"
        in text_of(response)
    )
    connection = Connection.objects.get(workspace=workspace)
    tokens_before = sfdc_emulator.control.count_calls(TOKEN_PATH)["count"]
    with pytest.raises(PermanentError) as raised:
        services.client_for(connection).query("SELECT Id FROM User LIMIT 1")
    assert (raised.value.code, raised.value.status) == ("API_DISABLED_FOR_ORG", 403)
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == tokens_before  # a 403 is not a refresh
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED


def test_the_org_name_is_read_once_at_connect_and_shown_instead_of_its_id(admin_session, workspace, sfdc_emulator):
    response = connect(admin_session, sfdc_emulator)

    assert "Connected as Ada Admin (admin@acme.test) to Acme Corp (Production)" in text_of(response)
    assert seed.PRODUCTION_ORG_ID not in text_of(admin_session.get(BASE))
    assert Connection.objects.get(workspace=workspace).org_name == "Acme Corp"
    # One composite call did the permission check, the org's name and View All Data.
    assert sfdc_emulator.control.count_calls("/services/data")["count"] == 1


def test_a_user_who_cannot_read_all_events_is_warned(admin_session, workspace, sfdc_emulator):
    response = connect(admin_session, sfdc_emulator, username=seed.ALICE)

    page = text_of(admin_session.get(BASE))
    assert "Connected as Alice Anders (alice@acme.test)" in text_of(response)
    assert (
        "Some Events may be invisible to Workestra. The connected Salesforce user can't read every Event "
        '(no "View All Data"). When Salesforce doesn\'t answer a create in time, Workestra looks for the Event '
        "before trying again; Events this user can't see can't be found, so a retry may create a second one."
    ) in page
    assert Connection.objects.get(workspace=workspace).reads_all_events is False


def test_a_user_with_view_all_data_gets_no_warning(admin_session, workspace, sfdc_emulator):
    connect(admin_session, sfdc_emulator, username=seed.ADMIN)

    assert "Some Events may be invisible" not in text_of(admin_session.get(BASE))
    assert Connection.objects.get(workspace=workspace).reads_all_events is True
