"""My Domain and custom login hosts: what the connect form accepts, and a whole connect,
refresh and disconnect through a host other than the default one, at an emulator that
refuses its OAuth endpoints anywhere else (an org that blocks login.salesforce.com)."""

import html
from urllib.parse import urlsplit

import pytest
from django.utils.html import strip_tags

from integrations.salesforce import oauth, services
from integrations.salesforce.client import OAuthClient
from integrations.salesforce.errors import NeedsReconnectError
from integrations.salesforce.forms import ConnectForm
from integrations.salesforce.models import SalesforceConnection
from sfdc_emulator import seed
from tests.fixtures.emulator import sign_in_and_consent

Connection = SalesforceConnection
BASE = "/settings/integrations/salesforce/"


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.mark.parametrize(
    "environment,typed,stored",
    [
        ("production", "", ""),
        ("production", "acme.my.salesforce.com", "acme.my.salesforce.com"),
        ("production", "  https://Acme-Corp.My.Salesforce.com/ ", "acme-corp.my.salesforce.com"),
        ("sandbox", "acme--uat.sandbox.my.salesforce.com", "acme--uat.sandbox.my.salesforce.com"),
        ("sandbox", "127.0.0.1:9443", "127.0.0.1:9443"),  # listed in SALESFORCE_EXTRA_LOGIN_HOSTS
    ],
)
def test_the_connect_form_accepts_my_domain_hosts(settings, environment, typed, stored):
    settings.SALESFORCE_EXTRA_LOGIN_HOSTS = ["127.0.0.1:9443"]
    form = ConnectForm({"environment": environment, "login_host": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["login_host"] == stored


@pytest.mark.parametrize(
    "environment,typed,message",
    [
        ("production", "evil.example.com", "“evil.example.com” is not a Salesforce My Domain login host."),
        ("production", "login.salesforce.com.evil.example", "is not a Salesforce My Domain login host"),
        ("production", "acme.my.salesforce.com/path", "is not a Salesforce My Domain login host"),
        ("production", "acme.my.salesforce.com:8443", "is not a Salesforce My Domain login host"),
        ("production", "user@acme.my.salesforce.com", "is not a Salesforce My Domain login host"),
        ("production", "127.0.0.1:9443", "is not a Salesforce My Domain login host"),  # not listed
        ("production", "acme--uat.sandbox.my.salesforce.com", "is a sandbox's login host: pick Sandbox"),
        ("sandbox", "acme.my.salesforce.com", "is a production login host: pick Production"),
    ],
)
def test_the_connect_form_refuses_other_hosts(settings, environment, typed, message):
    settings.SALESFORCE_EXTRA_LOGIN_HOSTS = []
    form = ConnectForm({"environment": environment, "login_host": typed})
    assert not form.is_valid()
    assert message in form.errors["login_host"][0]


@pytest.mark.django_db
def test_a_refused_host_saves_nothing_and_says_why(client, admin_user, workspace, sf_settings):
    client.force_login(admin_user)

    response = client.post(BASE + "connect/", {"environment": "production", "login_host": "phish.example.net"})

    assert response.status_code == 400
    assert (
        "“phish.example.net” is not a Salesforce My Domain login host. Enter your org's My Domain login host"
        in text_of(response)
    )
    assert 'value="phish.example.net"' in response.content.decode()  # what they typed stays
    assert oauth.SESSION_KEY not in client.session and not Connection.objects.exists()


@pytest.mark.django_db
@pytest.mark.emulator
def test_connect_refresh_and_disconnect_all_use_the_connections_own_host(
    client, admin_user, workspace, sf_settings, sfdc_emulator
):
    # Given an org whose OAuth endpoints answer only on its own host (default host blocked)
    my_domain = f"localhost:{sfdc_emulator.port}"
    sf_settings.SALESFORCE_EXTRA_LOGIN_HOSTS = [my_domain]
    sfdc_emulator.control.set_settings(login_hosts_only=my_domain)
    client.force_login(admin_user)

    # When the admin connects with that login host
    authorize_url = client.post(BASE + "connect/", {"environment": "production", "login_host": my_domain})["Location"]
    assert authorize_url.startswith(f"https://{my_domain}/services/oauth2/authorize?")
    callback = urlsplit(sign_in_and_consent(sfdc_emulator, authorize_url, seed.ADMIN))
    page = client.get(f"{callback.path}?{callback.query}", follow=True)

    # Then it is connected and remembers the host
    assert f"Connected as Ada Admin (admin@acme.test) to Acme Corp (Production, via {my_domain})" in text_of(page)
    connection = Connection.objects.get(workspace=workspace)
    assert connection.login_host == my_domain and connection.status == Connection.Status.CONNECTED

    # And a refresh goes to that host (the default one would be refused)
    sfdc_emulator.control.expire_tokens()
    services.client_for(connection).query("SELECT Id FROM User LIMIT 1")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED and connection.last_refreshed_at is not None

    # And so does the revoke at disconnect
    refresh_token = str(connection.refresh_token)
    done = client.post(BASE + "disconnect/", {"confirm": "1"}, follow=True)
    assert "Workestra's access was revoked and its tokens deleted." in text_of(done)
    assert "could not be reached to revoke" not in text_of(done)
    revokes = [call for call in sfdc_emulator.control.calls() if call["path"] == "/services/oauth2/revoke"]
    assert [call["status"] for call in revokes] == [200]
    with pytest.raises(NeedsReconnectError):
        OAuthClient("production", login_host=my_domain).refresh(refresh_token=refresh_token)


@pytest.mark.django_db
@pytest.mark.emulator
def test_reconnect_keeps_the_login_host(client, admin_user, workspace, sf_settings, sfdc_emulator):
    my_domain = f"localhost:{sfdc_emulator.port}"
    sf_settings.SALESFORCE_EXTRA_LOGIN_HOSTS = [my_domain]
    client.force_login(admin_user)
    authorize_url = client.post(BASE + "connect/", {"environment": "production", "login_host": my_domain})["Location"]
    callback = urlsplit(sign_in_and_consent(sfdc_emulator, authorize_url, seed.ADMIN))
    client.get(f"{callback.path}?{callback.query}")

    page = client.get(BASE).content.decode()

    # The Reconnect button posts the stored host back, so reconnecting goes to the same place.
    assert f'<input type="hidden" name="login_host" value="{my_domain}">' in page
    again = client.post(
        BASE + "connect/", {"environment": "production", "login_host": my_domain, "confirm_replace": "1"}
    )
    assert again["Location"].startswith(f"https://{my_domain}/services/oauth2/authorize?")
