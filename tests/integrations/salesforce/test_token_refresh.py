"""Token refresh against the emulator: no database lock while the token endpoint answers,
refresh-token rotation, grants that are gone (inactive user / org), orgs that move instances,
and a reconnect that lands while a refresh is in flight."""

import threading

import pytest
from django.db import connection as db_connection
from django.db.models import F

from integrations.salesforce import services
from integrations.salesforce.client import OAuthClient
from integrations.salesforce.errors import NeedsReconnectError
from integrations.salesforce.models import SalesforceConnection, SyncOperation
from integrations.salesforce.tokens import refresh_access_token
from tests.fixtures.salesforce import make_team

pytestmark = pytest.mark.emulator

Connection = SalesforceConnection
TOKEN_PATH = "/services/oauth2/token"


def query_once(connection_id: int) -> None:
    services.client_for(Connection.objects.get(pk=connection_id)).query("SELECT Id FROM User LIMIT 1")


@pytest.mark.django_db(transaction=True)
def test_bookings_are_written_while_the_token_endpoint_is_answering(sf_settings, sfdc_emulator, monkeypatch):
    # Given a connected team whose access token has expired, and a token endpoint that is slow
    team = make_team(sfdc_emulator)
    stale = str(team.connection.access_token)
    sfdc_emulator.control.expire_tokens()
    sfdc_emulator.control.set_settings(token_latency_ms=300)
    during_call = {}
    real_refresh = OAuthClient.refresh

    def refresh_while_booking(self, *, refresh_token):
        # While "on the wire": another connection books (its outbox row needs a key-share lock
        # on the connection row, and on SQLite the write lock).
        during_call["in_transaction"] = db_connection.in_atomic_block

        def book():
            try:
                team.book("alice", slot=3)
                during_call["booked"] = True
            except Exception as exc:  # reported below
                during_call["error"] = exc
            finally:
                db_connection.close()

        booker = threading.Thread(target=book)
        booker.start()
        booker.join(timeout=15)
        during_call["booked_before_answer"] = not booker.is_alive()
        return real_refresh(self, refresh_token=refresh_token)

    monkeypatch.setattr(OAuthClient, "refresh", refresh_while_booking)

    # When a worker refreshes the token
    fresh = refresh_access_token(team.connection.pk, stale)

    # Then the booking committed before Salesforce answered: nothing was locked across HTTP
    assert during_call == {"in_transaction": False, "booked": True, "booked_before_answer": True}
    assert fresh != stale and str(Connection.objects.get(pk=team.connection.pk).access_token) == fresh
    assert SyncOperation.objects.filter(connection=team.connection).count() == 1
    connection = Connection.objects.get(pk=team.connection.pk)
    assert (connection.token_refresh_claim, connection.token_refresh_until) == ("", None)


@pytest.mark.django_db
def test_with_rotation_three_expiries_in_a_row_stay_connected(team, sfdc_emulator):
    sfdc_emulator.control.set_settings(refresh_token_rotation=True)
    used = []

    for _ in range(3):
        used.append(str(team.refresh().refresh_token))
        sfdc_emulator.control.expire_tokens()
        query_once(team.connection.pk)

    connection = team.refresh()
    assert connection.status == Connection.Status.CONNECTED
    assert len(set(used + [str(connection.refresh_token)])) == 4  # a new refresh token each time
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == 4  # the connect + 3 refreshes
    # The ones just used are dead at Salesforce: the new one had to be stored.
    for old in used:
        with pytest.raises(NeedsReconnectError, match="expired access/refresh token"):
            OAuthClient("production").refresh(refresh_token=old)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "code,description",
    [("inactive_user", "user is inactive"), ("inactive_org", "organization is locked, closed, or suspended")],
)
def test_a_refresh_answered_inactive_user_or_org_means_needs_reconnect_once(team, sfdc_emulator, code, description):
    sfdc_emulator.control.set_settings(token_error=code)
    sfdc_emulator.control.expire_tokens()

    with pytest.raises(NeedsReconnectError) as raised:
        query_once(team.connection.pk)
    with pytest.raises(NeedsReconnectError):
        query_once(team.connection.pk)  # no second token call: the connection is not connected

    assert raised.value.code == code
    connection = team.refresh()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert (
        connection.last_error
        == f"Salesforce no longer accepts Workestra's access ({description}). An admin must reconnect."
    )
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == 1 + 1  # the connect, one refresh


@pytest.mark.django_db
def test_the_instance_url_of_a_refresh_replaces_the_stored_one(team, sfdc_emulator):
    moved = f"localhost:{sfdc_emulator.port}"
    sfdc_emulator.control.set_settings(instance_host=moved)
    sfdc_emulator.control.expire_tokens()

    query_once(team.connection.pk)

    assert team.refresh().instance_url == f"https://{moved}"
    query_once(team.connection.pk)  # and the next call goes there


@pytest.mark.django_db
def test_a_reconnect_during_a_refresh_wins(team, sfdc_emulator, monkeypatch):
    stale = str(team.connection.access_token)
    sfdc_emulator.control.expire_tokens()
    real_refresh = OAuthClient.refresh

    def reconnected_meanwhile(self, *, refresh_token):
        Connection.objects.filter(pk=team.connection.pk).update(
            access_token="reconnected-token", token_version=F("token_version") + 1
        )
        return real_refresh(self, refresh_token=refresh_token)

    monkeypatch.setattr(OAuthClient, "refresh", reconnected_meanwhile)

    assert refresh_access_token(team.connection.pk, stale) == "reconnected-token"
    assert str(team.refresh().access_token) == "reconnected-token"


@pytest.mark.django_db
def test_a_caller_on_a_deadline_does_not_wait_for_another_refresh(team, sfdc_emulator):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.salesforce.errors import RetryableError

    stale = str(team.connection.access_token)
    Connection.objects.filter(pk=team.connection.pk).update(
        token_refresh_claim="someone-else", token_refresh_until=timezone.now() + timedelta(seconds=30)
    )

    with pytest.raises(RetryableError, match="being refreshed by another request"):
        refresh_access_token(team.connection.pk, stale, wait=False)
    assert sfdc_emulator.control.count_calls(TOKEN_PATH)["count"] == 1  # the connect only
