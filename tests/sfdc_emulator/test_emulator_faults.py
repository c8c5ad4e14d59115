"""API limits, the Sforce-Limit-Info header, and every injected fault mode."""

import threading
import time

import pytest
import requests
from oauthlib.oauth2 import InvalidGrantError
from requests_oauthlib import OAuth2Session
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError, SalesforceRefusedRequest

from sfdc_emulator import seed
from tests.fixtures.emulator import emulator_oauth_tokens, emulator_salesforce

pytestmark = pytest.mark.emulator

EVENT = {"Subject": "Call", "StartDateTime": "2026-11-30T15:00:00Z", "DurationInMinutes": 30}


@pytest.fixture
def token(sfdc_emulator):
    return emulator_oauth_tokens(sfdc_emulator)


@pytest.fixture
def sf(sfdc_emulator, token):
    return emulator_salesforce(sfdc_emulator, token)


def rest(emulator, token, method, path, **kwargs):
    return requests.request(
        method,
        f"{emulator.base_url}/services/data/v59.0/{path}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=kwargs.pop("timeout", 10),
        **kwargs,
    )


def test_limit_header_and_limits_resource(sfdc_emulator, token):
    first = rest(sfdc_emulator, token, "GET", "limits/")
    second = rest(sfdc_emulator, token, "GET", "limits")
    versions = requests.get(f"{sfdc_emulator.base_url}/services/data/", timeout=10)

    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    assert second.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 14998}
    assert versions.headers["Sforce-Limit-Info"] == "api-usage=2/15000"  # not counted
    assert sfdc_emulator.control.count_calls("/services/data") == {"count": 3, "counted": 2}


def test_request_limit_exceeded_at_the_allotment(sfdc_emulator, sf):
    sfdc_emulator.control.set_faults(api_usage={"used": 14998, "total": 15000})

    sf.query("SELECT Id FROM Lead")
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as excinfo:
        sf.query("SELECT Id FROM Lead")

    assert excinfo.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sfdc_emulator.control.count() == 2
    assert sfdc_emulator.control.state()["usage"] == {"used": 15000, "total": 15000}


def test_request_limit_exceeded_fault_until_cleared(sfdc_emulator, sf):
    sfdc_emulator.control.set_faults(request_limit_exceeded=True)
    with pytest.raises(SalesforceRefusedRequest):
        sf.Event.create(EVENT)

    sfdc_emulator.control.clear_faults()

    assert sf.Event.create(EVENT)["success"] is True
    assert len(sfdc_emulator.control.records("Event")) == 1


def test_latency_is_added_to_rest_and_token_responses(sfdc_emulator, token):
    def timed(call):
        start = time.monotonic()
        call()
        return time.monotonic() - start

    baseline = timed(lambda: rest(sfdc_emulator, token, "GET", "limits"))
    sfdc_emulator.control.set_faults(latency_ms=300)
    slowed = timed(lambda: rest(sfdc_emulator, token, "GET", "limits"))
    token_call = timed(
        lambda: requests.post(
            f"{sfdc_emulator.login_url}/services/oauth2/token",
            timeout=10,
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": seed.CLIENT_ID},
        )
    )

    assert slowed >= 0.3 and slowed > 2 * baseline
    assert token_call >= 0.3


def test_fail_count_then_success_and_failed_requests_are_not_applied(sfdc_emulator, sf):
    sfdc_emulator.control.set_faults(fail={"status": 503, "count": 2, "prefix": "/services/data"})

    failures = []
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as excinfo:
            sf.Event.create(EVENT)
        failures.append(excinfo.value)
    created = sf.Event.create(EVENT)

    assert [f.status for f in failures] == [503, 503]
    assert failures[0].content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert created["success"] is True
    assert len(sfdc_emulator.control.records("Event")) == 1
    assert sfdc_emulator.control.count() == 1
    assert sfdc_emulator.control.faults() == {}


def test_fail_for_seconds(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(fail_for_seconds={"status": 503, "seconds": 0.6})

    during = rest(sfdc_emulator, token, "GET", "limits")
    time.sleep(0.7)
    after = rest(sfdc_emulator, token, "GET", "limits")

    assert during.status_code == 503 and after.status_code == 200


def test_timeout_after_write_hang_commits_and_does_not_block_other_requests(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "hang", "seconds": 1.5})
    outcome = {}

    def hanging_create():
        try:
            rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT, timeout=0.8)
        except requests.exceptions.ReadTimeout as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=hanging_create)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    query = rest(sfdc_emulator, token, "GET", "query", params={"q": "SELECT Id FROM Event"})
    elapsed = time.monotonic() - started
    worker.join()

    assert elapsed < 0.5, "a hanging request must not block the others"
    assert query.json()["totalSize"] == 1  # already committed while the response hangs
    assert isinstance(outcome.get("error"), requests.exceptions.ReadTimeout)
    assert len(sfdc_emulator.control.records("Event")) == 1
    assert rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT).status_code == 201


def test_timeout_after_write_drop_closes_the_socket_after_committing(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})

    with pytest.raises(requests.exceptions.ConnectionError):
        rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT)

    assert len(sfdc_emulator.control.records("Event")) == 1


def test_a_read_only_composite_does_not_trigger_timeout_after_write(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
    lookup = {
        "compositeRequest": [
            {"method": "GET", "referenceId": "q", "url": "/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead"}
        ]
    }

    read = rest(sfdc_emulator, token, "POST", "composite/", json=lookup)
    with pytest.raises(requests.exceptions.ConnectionError):
        rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT)

    assert read.status_code == 200
    assert len(sfdc_emulator.control.records("Event")) == 1


def test_expired_tokens_give_401_and_refresh_still_works(sfdc_emulator, token, sf):
    sfdc_emulator.control.expire_tokens()

    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")
    refreshed = OAuth2Session(seed.CLIENT_ID, token=token).refresh_token(
        f"{sfdc_emulator.login_url}/services/oauth2/token", client_id=seed.CLIENT_ID, client_secret=seed.CLIENT_SECRET
    )

    assert emulator_salesforce(sfdc_emulator, refreshed).query("SELECT Id FROM Lead")["totalSize"] == 4


def test_revoked_refresh_tokens_give_invalid_grant_only_for_that_user(sfdc_emulator, token):
    alice = emulator_oauth_tokens(sfdc_emulator, username=seed.ALICE)
    sfdc_emulator.control.revoke_tokens(username=seed.ADMIN)
    token_url = f"{sfdc_emulator.login_url}/services/oauth2/token"

    with pytest.raises(InvalidGrantError, match="expired access/refresh token"):
        OAuth2Session(seed.CLIENT_ID, token=token).refresh_token(
            token_url, client_id=seed.CLIENT_ID, client_secret=seed.CLIENT_SECRET
        )
    refreshed = OAuth2Session(seed.CLIENT_ID, token=alice).refresh_token(
        token_url, client_id=seed.CLIENT_ID, client_secret=seed.CLIENT_SECRET
    )

    assert refreshed["access_token"]
    assert rest(sfdc_emulator, token, "GET", "limits").status_code == 401


def test_fail_fault_on_the_token_endpoint(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(fail={"status": 500, "count": 1, "prefix": "/services/oauth2/token"})
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": seed.CLIENT_ID}
    url = f"{sfdc_emulator.login_url}/services/oauth2/token"

    assert requests.post(url, data=form, timeout=10).status_code == 500
    assert requests.post(url, data=form, timeout=10).status_code == 200
