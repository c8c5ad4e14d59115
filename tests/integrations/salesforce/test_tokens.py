"""Tokens against the emulator: a revoked refresh token flips the connection to needs
reconnect (and the calendar says so), concurrent refreshes call Salesforce once, and no
token ever reaches a log line or an admin page."""

import html
import io
import logging
import threading
from urllib.parse import urlsplit

import pytest
from django.db import connection as db_connection
from django.utils.html import strip_tags

from integrations.salesforce import services
from integrations.salesforce.errors import NeedsReconnectError
from integrations.salesforce.models import SalesforceConnection
from integrations.salesforce.tokens import refresh_access_token
from tests.fixtures.emulator import sign_in_and_consent
from tests.fixtures.factories import make_member, make_workspace
from tests.fixtures.salesforce import connect_workspace
from workestra.logging import RedactSecretsFilter
from workestra.models import Membership, User

pytestmark = pytest.mark.emulator

Connection = SalesforceConnection
TOKEN_PATH = "/services/oauth2/token"


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


@pytest.mark.django_db
def test_a_revoked_refresh_token_means_needs_reconnect_and_the_calendar_says_so(
    client, sf_settings, sfdc_emulator, workspace, admin_user, member_user
):
    connection = connect_workspace(workspace, admin_user, sfdc_emulator)
    sfdc_emulator.control.revoke_tokens()
    sfdc_emulator.control.expire_tokens()

    with pytest.raises(NeedsReconnectError):
        services.client_for(connection).query("SELECT Id FROM User LIMIT 1")

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert connection.last_error == (
        "Salesforce no longer accepts Workestra's access (expired access/refresh token). An admin must reconnect."
    )
    client.force_login(member_user)
    member_page = client.get("/calendar/")
    assert (
        "Salesforce: Needs reconnect. Bookings are waiting to be pushed; nothing has been dropped. Ask a workspace admin to reconnect Salesforce."
        in text_of(member_page)
    )
    assert "Reconnect</button>" not in member_page.content.decode()
    client.force_login(admin_user)
    admin_page = client.get("/calendar/")
    assert (
        "Salesforce: Needs reconnect. Bookings are waiting to be pushed; nothing has been dropped. Reconnect to send them."
        in text_of(admin_page)
    )
    assert '<button type="submit">Reconnect</button>' in admin_page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_call_the_token_endpoint_once(sf_settings, sfdc_emulator):
    workspace = make_workspace("acme")
    admin = make_member(workspace, "admin@acme.test", role=Membership.Role.ADMIN)
    connection = connect_workspace(workspace, admin, sfdc_emulator)
    stale = str(connection.access_token)
    sfdc_emulator.control.expire_tokens()
    before = sfdc_emulator.control.count_calls(TOKEN_PATH)["count"]
    start = threading.Barrier(2)
    results, errors = [], []

    def refresh():
        try:
            start.wait(timeout=10)
            results.append(str(refresh_access_token(connection.pk, stale)))
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == 2 and results[0] == results[1] != stale
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] - before == 1
    assert str(Connection.objects.get(pk=connection.pk).access_token) == results[0]


@pytest.fixture
def redacted_log():
    """The root logger as the project configures its console: RedactSecretsFilter + format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s %(extra_fields)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


@pytest.mark.django_db
def test_no_token_in_any_log_line_or_admin_page(
    client, sf_settings, sfdc_emulator, workspace, admin_user, caplog, redacted_log
):
    caplog.set_level(logging.DEBUG)
    client.force_login(admin_user)

    # A full connect through the views...
    authorize_url = client.post("/settings/integrations/salesforce/connect/", {"environment": "production"})["Location"]
    callback = urlsplit(sign_in_and_consent(sfdc_emulator, authorize_url, "admin@acme.test"))
    assert "Connected as" in text_of(client.get(f"{callback.path}?{callback.query}", follow=True))
    connection = Connection.objects.get(workspace=workspace)
    first_access, refresh = str(connection.access_token), str(connection.refresh_token)
    # ...then a 401, a refresh and a retry.
    sfdc_emulator.control.expire_tokens()
    services.client_for(connection).query("SELECT Id FROM User LIMIT 1")
    second_access = str(Connection.objects.get(pk=connection.pk).access_token)
    assert second_access != first_access
    tokens = [first_access, second_access, refresh]

    formatter = logging.Formatter("%(name)s %(message)s %(args)s")
    captured = "\n".join(formatter.format(record) + " " + repr(vars(record)) for record in caplog.records)
    assert "salesforce.token.refreshed" in captured and "salesforce.connection.connected" in captured
    written = redacted_log.getvalue()
    assert "salesforce.token.refreshed" in written
    for token in tokens:
        assert token not in captured
        assert token not in written

    staff = User.objects.create_superuser(email="support@workestra.test", password="x")
    client.force_login(staff)
    for url in (
        "/admin/salesforce/salesforceconnection/",
        f"/admin/salesforce/salesforceconnection/{connection.pk}/change/",
    ):
        page = client.get(url).content.decode()
        for token in tokens:
            assert token not in page
