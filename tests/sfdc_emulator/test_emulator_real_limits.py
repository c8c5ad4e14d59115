"""Salesforce's own limits and Event rules, and the late-commit fault (issue 11 / 12).

Each test names the rule it holds the emulator to; sfdc_emulator/README.md names the source.
"""

import time

import pytest
import requests

from tests.fixtures.emulator import emulator_oauth_tokens

pytestmark = pytest.mark.emulator

V = "/services/data/v59.0"
EVENT = {"Subject": "Call", "StartDateTime": "2026-11-30T15:00:00Z", "DurationInMinutes": 30}


@pytest.fixture
def token(sfdc_emulator):
    return emulator_oauth_tokens(sfdc_emulator)


def rest(emulator, token, method, path, **kwargs):
    return requests.request(
        method,
        f"{emulator.base_url}{V}/{path}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=kwargs.pop("timeout", 10),
        **kwargs,
    )


def query_sub(ref, soql="SELECT Id FROM Lead"):
    return {"method": "GET", "referenceId": ref, "url": f"{V}/query/?q={requests.utils.quote(soql)}"}


def collection_sub(ref, records):
    return {
        "method": "POST",
        "referenceId": ref,
        "url": f"{V}/composite/sobjects",
        "body": {"allOrNone": False, "records": [{"attributes": {"type": "Event"}, **r} for r in records]},
    }


# ---- /composite: 25 subrequests, of which at most 5 queries or sObject Collections ----------
def test_five_query_or_collection_subrequests_run_in_one_call(sfdc_emulator, token):
    subrequests = [query_sub(f"q{n}") for n in range(3)] + [collection_sub(f"c{n}", [EVENT]) for n in range(2)]
    subrequests.append({"method": "GET", "referenceId": "plain", "url": f"{V}/sobjects/Event/describe"})

    response = rest(sfdc_emulator, token, "POST", "composite", json={"compositeRequest": subrequests})

    assert response.status_code == 200
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [200] * 6
    # A Collections subrequest answers with its SaveResults, in input order.
    assert answers[3]["body"][0]["success"] is True and answers[3]["body"][0]["id"].startswith("00U")
    assert len(sfdc_emulator.control.records("Event")) == 2


def test_a_sixth_query_or_collection_subrequest_is_refused_and_nothing_runs(sfdc_emulator, token):
    subrequests = [query_sub(f"q{n}") for n in range(5)] + [collection_sub("c", [EVENT])]

    response = rest(sfdc_emulator, token, "POST", "composite", json={"compositeRequest": subrequests})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_API_INPUT"
    assert sfdc_emulator.control.records("Event") == []


# ---- SOQL length limits ---------------------------------------------------------------------
def test_a_where_string_of_4000_characters_is_accepted_and_4001_refused(sfdc_emulator, token):
    ok = rest(
        sfdc_emulator,
        token,
        "POST",
        "composite",
        json={"compositeRequest": [query_sub("q", "SELECT Id FROM Lead WHERE Email = '" + "a" * 4000 + "'")]},
    )
    too_long = rest(
        sfdc_emulator,
        token,
        "POST",
        "composite",
        json={"compositeRequest": [query_sub("q", "SELECT Id FROM Lead WHERE Email = '" + "a" * 4001 + "'")]},
    )

    assert ok.json()["compositeResponse"][0]["httpStatusCode"] == 200
    refused = too_long.json()["compositeResponse"][0]
    assert refused["httpStatusCode"] == 400 and refused["body"][0]["errorCode"] == "MALFORMED_QUERY"


def test_a_statement_over_100000_characters_is_refused(sfdc_emulator, token):
    emails = ",".join(f"'person{n:05d}@example.org'" for n in range(4000))  # ~108,000 characters
    answer = rest(
        sfdc_emulator,
        token,
        "POST",
        "composite",
        json={"compositeRequest": [query_sub("q", f"SELECT Id FROM Lead WHERE Email IN ({emails})")]},
    ).json()["compositeResponse"][0]

    assert answer["httpStatusCode"] == 400
    assert answer["body"][0] == {
        "errorCode": "MALFORMED_QUERY",
        "message": "SOQL statements can not be longer than 100000 characters",
    }


def test_a_get_query_past_the_16384_byte_uri_limit_is_414(sfdc_emulator, token):
    emails = ",".join(f"'person{n:05d}@example.org'" for n in range(700))  # ~19,600 characters
    response = rest(
        sfdc_emulator, token, "GET", "query/", params={"q": f"SELECT Id FROM Lead WHERE Email IN ({emails})"}
    )

    assert response.status_code == 414
    assert sfdc_emulator.control.count() == 0  # refused at the front door, not counted


# ---- queryAll paging --------------------------------------------------------------------------
def test_a_query_all_next_page_url_says_query_and_keeps_the_deleted_rows(sfdc_emulator, token):
    sfdc_emulator.control.set_settings(query_batch_size=1)
    first, second = (rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT).json()["id"] for _ in range(2))
    rest(sfdc_emulator, token, "DELETE", f"sobjects/Event/{first}")

    page = rest(
        sfdc_emulator, token, "GET", "queryAll/", params={"q": "SELECT Id, IsDeleted FROM Event ORDER BY CreatedDate"}
    ).json()
    assert page["nextRecordsUrl"].startswith(f"{V}/query/01g")
    rest_page = requests.get(
        sfdc_emulator.base_url + page["nextRecordsUrl"],
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()

    assert {r["Id"] for r in page["records"] + rest_page["records"]} == {first, second}
    assert rest_page["done"] is True


# ---- Event rules ------------------------------------------------------------------------------
def test_activity_date_is_accepted_on_an_all_day_event(sfdc_emulator, token):
    created = rest(
        sfdc_emulator,
        token,
        "POST",
        "sobjects/Event/",
        json={"Subject": "Offsite", "IsAllDayEvent": True, "ActivityDate": "2026-12-03", "DurationInMinutes": 1440},
    )

    assert created.status_code == 201, created.text
    event = sfdc_emulator.control.record("Event", created.json()["id"])
    assert event["ActivityDate"] == "2026-12-03"
    assert event["StartDateTime"] == "2026-12-03T00:00:00.000+0000"


def test_activity_date_time_must_equal_start_date_time(sfdc_emulator, token):
    same = rest(
        sfdc_emulator, token, "POST", "sobjects/Event/", json={**EVENT, "ActivityDateTime": "2026-11-30T15:00:00Z"}
    )
    different = rest(
        sfdc_emulator, token, "POST", "sobjects/Event/", json={**EVENT, "ActivityDateTime": "2026-11-30T16:00:00Z"}
    )

    assert same.status_code == 201
    assert different.status_code == 400
    assert different.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert different.json()[0]["fields"] == ["ActivityDateTime"]


def test_deleting_a_collection_without_ids_is_required_field_missing(sfdc_emulator, token):
    response = rest(sfdc_emulator, token, "DELETE", "composite/sobjects", params={"allOrNone": "false"})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


# ---- late commits -------------------------------------------------------------------------------
def test_a_late_commit_lands_after_the_client_gave_up(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(late_commit={"count": 1, "seconds": 1.5})
    started = time.monotonic()

    with pytest.raises(requests.exceptions.ReadTimeout):
        rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT, timeout=0.5)
    assert sfdc_emulator.control.records("Event") == []  # the client gave up; nothing yet
    while not sfdc_emulator.control.records("Event") and time.monotonic() - started < 5:
        time.sleep(0.1)

    assert len(sfdc_emulator.control.records("Event")) == 1
    assert time.monotonic() - started >= 1.5
    assert sfdc_emulator.control.faults() == {}  # spent


def test_a_late_commit_can_roll_back_instead(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(late_commit={"count": 1, "seconds": 1, "rollback": True})

    with pytest.raises(requests.exceptions.ReadTimeout):
        rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT, timeout=0.3)
    time.sleep(1.5)

    assert sfdc_emulator.control.records("Event") == []


def test_timeout_after_write_can_let_writes_answer_first(sfdc_emulator, token):
    sfdc_emulator.control.set_faults(timeout_after_write={"count": 1, "mode": "drop", "skip": 1})

    answered = rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT)
    with pytest.raises(requests.exceptions.ConnectionError):
        rest(sfdc_emulator, token, "POST", "sobjects/Event/", json=EVENT)

    assert answered.status_code == 201
    assert len(sfdc_emulator.control.records("Event")) == 2
