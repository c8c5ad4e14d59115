"""/composite and /composite/sobjects, through simple-salesforce's restful()."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfdc_emulator import seed
from sfdc_emulator.seed import ID
from tests.fixtures.emulator import emulator_oauth_tokens, emulator_salesforce

pytestmark = pytest.mark.emulator

V = "/services/data/v59.0"
EVENT = {"Subject": "Call", "StartDateTime": "2026-11-30T15:00:00Z", "DurationInMinutes": 30}


@pytest.fixture
def sf(sfdc_emulator):
    return emulator_salesforce(sfdc_emulator, emulator_oauth_tokens(sfdc_emulator))


def composite(sf, subrequests, all_or_none=False):
    return sf.restful("composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": subrequests})[
        "compositeResponse"
    ]


def test_references_resolve_in_url_and_body_and_it_is_one_api_call(sfdc_emulator, sf):
    before = sfdc_emulator.control.count()

    responses = composite(
        sf,
        [
            {
                "method": "GET",
                "referenceId": "contact",
                "url": f"{V}/query/?q=SELECT+Id,AccountId+FROM+Contact+WHERE+Email='jane.roe@globex.com'",
            },
            {
                "method": "POST",
                "referenceId": "event",
                "url": f"{V}/sobjects/Event/",
                "body": {**EVENT, "WhoId": "@{contact.records[0].Id}", "WhatId": "@{contact.records[0].AccountId}"},
            },
            {
                "method": "POST",
                "referenceId": "note",
                "url": f"{V}/sobjects/Note/",
                "body": {"ParentId": "@{contact.records[0].Id}", "Title": "About @{event.id}"},
            },
            {"method": "GET", "referenceId": "read", "url": f"{V}/sobjects/Event/@{{event.id}}"},
        ],
    )

    assert sfdc_emulator.control.count() == before + 1
    assert [r["httpStatusCode"] for r in responses] == [200, 201, 201, 200]
    event_id = responses[1]["body"]["id"]
    assert responses[1]["httpHeaders"]["Location"] == f"{V}/sobjects/Event/{event_id}"
    assert responses[3]["body"]["WhoId"] == ID["contact:jane"]
    assert responses[3]["body"]["WhatId"] == ID["account:globex"]
    [note] = sfdc_emulator.control.records("Note")
    assert note["Title"] == f"About {event_id}"


def test_all_or_none_rolls_everything_back(sfdc_emulator, sf):
    responses = composite(
        sf,
        [
            {"method": "POST", "referenceId": "ok", "url": f"{V}/sobjects/Event/", "body": EVENT},
            {"method": "POST", "referenceId": "bad", "url": f"{V}/sobjects/Event/", "body": {"Subject": "no times"}},
            {"method": "POST", "referenceId": "later", "url": f"{V}/sobjects/Event/", "body": EVENT},
        ],
        all_or_none=True,
    )

    halted = [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the same transaction failed.",
        }
    ]
    assert [(r["referenceId"], r["httpStatusCode"]) for r in responses] == [("ok", 400), ("bad", 400), ("later", 400)]
    assert responses[0]["body"] == halted and responses[2]["body"] == halted
    assert responses[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sfdc_emulator.control.records("Event") == []


def test_without_all_or_none_later_subrequests_run_and_bad_references_halt(sfdc_emulator, sf):
    responses = composite(
        sf,
        [
            {"method": "POST", "referenceId": "bad", "url": f"{V}/sobjects/Event/", "body": {"Subject": "no times"}},
            {
                "method": "PATCH",
                "referenceId": "uses_bad",
                "url": f"{V}/sobjects/Event/@{{bad.id}}",
                "body": {"Subject": "x"},
            },
            {"method": "POST", "referenceId": "ok", "url": f"{V}/sobjects/Event/", "body": EVENT},
            {"method": "DELETE", "referenceId": "gone", "url": f"{V}/sobjects/Event/@{{ok.id}}"},
        ],
    )

    assert [r["httpStatusCode"] for r in responses] == [400, 400, 201, 204]
    assert responses[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "Invalid reference specified" in responses[1]["body"][0]["message"]
    assert responses[3]["body"] is None
    assert [e["IsDeleted"] for e in sfdc_emulator.control.records("Event", include_deleted=True)] == [True]


def test_more_than_25_subrequests_is_refused(sf):
    subrequests = [{"method": "GET", "referenceId": f"r{i}", "url": f"{V}/limits"} for i in range(26)]

    with pytest.raises(SalesforceMalformedRequest):
        composite(sf, subrequests)


def test_collections_create_with_partial_failure(sfdc_emulator, sf):
    before = sfdc_emulator.control.count()

    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Event"}, **EVENT, "WhoId": ID["contact:jane"]},
                {"attributes": {"type": "Event"}, "Subject": "no end", "StartDateTime": "2026-11-30T15:00:00Z"},
                {"attributes": {"type": "Note"}, "ParentId": ID["contact:jane"], "Title": "n"},
            ],
        },
    )

    assert sfdc_emulator.control.count() == before + 1
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["id"].startswith("00U") and results[2]["id"].startswith("002")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [DurationInMinutes]",
                "fields": ["DurationInMinutes"],
            }
        ],
    }


def test_collections_all_or_none_rolls_back(sfdc_emulator, sf):
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Event"}, **EVENT},
                {"attributes": {"type": "Event"}, "Subject": "no times"},
            ],
        },
    )

    assert results[0] == {
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was "
                "using AllOrNone header",
                "fields": [],
            }
        ],
    }
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sfdc_emulator.control.records("Event") == []


def test_collections_update_delete_and_retrieve(sfdc_emulator, sf):
    first = sf.Event.create(EVENT)["id"]
    second = sf.Event.create(EVENT)["id"]

    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Event"}, "Id": first, "Subject": "Moved"},
                {"attributes": {"type": "Event"}, "Id": second, "OwnerId": seed.USER_IDS[seed.FORMER]},
            ]
        },
    )
    fetched = sf.restful("composite/sobjects/Event", params={"ids": f"{first},{second}", "fields": "Subject"})
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{first},{first},not-an-id", "allOrNone": "false"}
    )

    assert updated[0] == {"id": first, "success": True, "errors": []}
    assert updated[1]["id"] == second and updated[1]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert [r["Subject"] for r in fetched] == ["Moved", "Call"]
    assert [r["success"] for r in deleted] == [True, False, False]
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert deleted[2]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_collections_over_200_records_is_refused(sf):
    records = [{"attributes": {"type": "Event"}, **EVENT} for _ in range(201)]

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.restful("composite/sobjects", method="POST", json={"records": records})

    assert excinfo.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
