"""sObject REST: CRUD, describe, permissions and Salesforce's validation errors."""

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sfdc_emulator import ids, seed
from sfdc_emulator.seed import ID, USER_IDS
from tests.fixtures.emulator import emulator_oauth_tokens, emulator_salesforce

pytestmark = pytest.mark.emulator

START = "2026-11-30T15:00:00Z"


def sf_as(emulator, username=seed.ADMIN) -> Salesforce:
    return emulator_salesforce(emulator, emulator_oauth_tokens(emulator, username=username))


def event(**fields):
    return {"Subject": "Intro call", "StartDateTime": START, "DurationInMinutes": 30, **fields}


def errors_of(excinfo):
    return excinfo.value.content


def test_create_get_update_delete_an_event(sfdc_emulator):
    sf = sf_as(sfdc_emulator, seed.ALICE)

    created = sf.Event.create(
        event(WhoId=ID["contact:jane"], WhatId=ID["opportunity:globex_renewal"], Description="Agenda\nline 2")
    )
    record = sf.Event.get(created["id"])
    assert sf.Event.update(created["id"], {"DurationInMinutes": 45}) == 204
    updated = sf.Event.get(
        created["id"],
    )

    assert created == {"id": created["id"], "success": True, "errors": []}
    assert created["id"].startswith("00U") and len(created["id"]) == 18
    assert record["attributes"] == {"type": "Event", "url": f"/services/data/v59.0/sobjects/Event/{created['id']}"}
    assert record["StartDateTime"] == "2026-11-30T15:00:00.000+0000"
    assert record["EndDateTime"] == "2026-11-30T15:30:00.000+0000"
    assert record["ActivityDateTime"] == record["StartDateTime"]
    assert record["OwnerId"] == record["CreatedById"] == USER_IDS[seed.ALICE]
    assert record["AccountId"] == ID["account:globex"]
    assert record["IsDeleted"] is False
    assert updated["EndDateTime"] == "2026-11-30T15:45:00.000+0000"

    assert sf.Event.delete(created["id"]) == 204
    for call in (
        lambda: sf.Event.get(created["id"]),
        lambda: sf.Event.update(created["id"], {"Subject": "x"}),
        lambda: sf.Event.delete(created["id"]),
    ):
        with pytest.raises(SalesforceResourceNotFound) as excinfo:
            call()
        assert errors_of(excinfo) == [{"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]


def test_get_with_fields_and_offsets_in_input(sfdc_emulator):
    sf = sf_as(sfdc_emulator)
    created = sf.Event.create(
        event(
            StartDateTime="2026-11-30T16:00:00+01:00",
            EndDateTime="2026-11-30T17:30:00.000+0100",
            DurationInMinutes=None,
        )
    )

    record = sf.Event.get(created["id"] + "?fields=Subject,DurationInMinutes")

    assert record == {"attributes": record["attributes"], "Subject": "Intro call", "DurationInMinutes": 90}


def test_unknown_and_malformed_ids_are_404(sfdc_emulator):
    sf = sf_as(sfdc_emulator)

    with pytest.raises(SalesforceResourceNotFound) as unknown:
        sf.Event.get(ids.make_id("Event", 12345))
    with pytest.raises(SalesforceResourceNotFound) as wrong_type:
        sf.Event.get(ID["contact:jane"])
    with pytest.raises(SalesforceResourceNotFound) as malformed:
        sf.Event.get("abc")

    assert errors_of(unknown) == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    assert errors_of(wrong_type)[0]["errorCode"] == "NOT_FOUND"
    assert errors_of(malformed)[0]["message"] == ("Provided external ID field does not exist or is not accessible: abc")


@pytest.mark.parametrize(
    "fields, code, message, error_fields",
    [
        (
            {"DurationInMinutes": None},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [DurationInMinutes]",
            ["DurationInMinutes"],
        ),
        (
            {"StartDateTime": None},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [StartDateTime]",
            ["StartDateTime"],
        ),
        (
            {"WhoId": ID["account:globex"]},
            "FIELD_INTEGRITY_EXCEPTION",
            f"Name ID: id value of incorrect type: {ID['account:globex']}",
            ["WhoId"],
        ),
        (
            {"WhatId": ID["contact:jane"]},
            "FIELD_INTEGRITY_EXCEPTION",
            f"Related To ID: id value of incorrect type: {ID['contact:jane']}",
            ["WhatId"],
        ),
        (
            {"WhoId": ID["lead:sam"], "WhatId": ID["account:globex"]},
            "FIELD_INTEGRITY_EXCEPTION",
            None,
            ["WhoId", "WhatId"],
        ),
        ({"WhoId": "003notanid"}, "MALFORMED_ID", "Name ID: id value of incorrect type: 003notanid", ["WhoId"]),
        ({"WhoId": ids.make_id("Contact", 99)}, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["WhoId"]),
        ({"WhoId": ID["lead:old"]}, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", ["WhoId"]),
        ({"OwnerId": USER_IDS[seed.FORMER]}, "INACTIVE_OWNER_OR_USER", None, ["OwnerId"]),
        ({"Subject": "s" * 256}, "STRING_TOO_LONG", None, ["Subject"]),
        ({"Description": "d" * 32001}, "STRING_TOO_LONG", None, ["Description"]),
        ({"Foo": 1}, "INVALID_FIELD", "No such column 'Foo' on sobject of type Event", []),
        ({"AccountId": ID["account:globex"]}, "INVALID_FIELD_FOR_INSERT_UPDATE", None, ["AccountId"]),
        ({"DurationInMinutes": 60 * 24 * 15}, "FIELD_INTEGRITY_EXCEPTION", None, ["DurationInMinutes"]),
        ({"StartDateTime": "tomorrow"}, "JSON_PARSER_ERROR", None, None),
    ],
)
def test_event_validation_errors(sfdc_emulator, fields, code, message, error_fields):
    sf = sf_as(sfdc_emulator)

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Event.create(event(**fields))

    [error] = errors_of(excinfo)
    assert error["errorCode"] == code
    if message:
        assert error["message"] == message
    assert error.get("fields") == error_fields
    assert sfdc_emulator.control.records("Event") == []


def test_string_too_long_message(sfdc_emulator):
    sf = sf_as(sfdc_emulator)

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Event.create(event(Subject="s" * 300))

    assert errors_of(excinfo)[0]["message"].endswith("(max length=255)")
    assert errors_of(excinfo)[0]["message"].startswith("Subject: data value too large: sss")


@pytest.mark.parametrize(
    "fields, code, error_fields",
    [
        ({"Title": "t"}, "REQUIRED_FIELD_MISSING", ["ParentId"]),
        ({"ParentId": ID["contact:jane"]}, "REQUIRED_FIELD_MISSING", ["Title"]),
        ({"ParentId": ID["contact:jane"], "Title": "t" * 81}, "STRING_TOO_LONG", ["Title"]),
        ({"ParentId": ID["contact:jane"], "Title": "t", "Body": "b" * 32001}, "STRING_TOO_LONG", ["Body"]),
        ({"ParentId": USER_IDS[seed.ALICE], "Title": "t"}, "FIELD_INTEGRITY_EXCEPTION", ["ParentId"]),
    ],
)
def test_note_validation_errors(sfdc_emulator, fields, code, error_fields):
    sf = sf_as(sfdc_emulator)

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Note.create(fields)

    assert errors_of(excinfo)[0]["errorCode"] == code
    assert errors_of(excinfo)[0]["fields"] == error_fields


def test_note_on_a_contact_and_parent_cannot_change(sfdc_emulator):
    sf = sf_as(sfdc_emulator)
    note = sf.Note.create({"ParentId": ID["contact:jane"], "Title": "Call notes", "Body": "Hi"})

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Note.update(note["id"], {"ParentId": ID["contact:peter"]})

    assert errors_of(excinfo)[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sf.Note.get(note["id"])["ParentId"] == ID["contact:jane"]


def test_user_without_create_on_note(sfdc_emulator):
    sf = sf_as(sfdc_emulator, seed.NONOTES)

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Note.create({"ParentId": ID["contact:jane"], "Title": "t"})
    describe = sf.Note.describe()

    assert errors_of(excinfo) == [
        {
            "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "message": "entity type cannot be inserted: Note",
            "fields": [],
        }
    ]
    assert describe["createable"] is False and describe["updateable"] is False
    assert {f["name"]: f["createable"] for f in describe["fields"]}["Title"] is False
    assert sf.Event.describe()["createable"] is True


def test_user_without_edit_on_event(sfdc_emulator):
    sf = sf_as(sfdc_emulator, seed.READONLY)
    created = sf.Event.create(event())

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Event.update(created["id"], {"Subject": "moved"})

    assert errors_of(excinfo)[0]["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert errors_of(excinfo)[0]["message"] == "entity type cannot be updated: Event"
    assert sf.Event.describe()["updateable"] is False


def test_api_disabled_user_is_refused(sfdc_emulator):
    sf = sf_as(sfdc_emulator, seed.NOAPI)

    with pytest.raises(SalesforceRefusedRequest) as excinfo:
        sf.query("SELECT Id FROM Contact")

    assert errors_of(excinfo) == [{"message": "API is disabled for this User", "errorCode": "API_CURRENTLY_DISABLED"}]


def test_invalid_session(sfdc_emulator):
    sf = Salesforce(instance_url=sfdc_emulator.base_url, session_id="00Dbogus!token", version="59.0")

    with pytest.raises(SalesforceExpiredSession) as excinfo:
        sf.Event.create(event())

    assert errors_of(excinfo) == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_describe_with_and_without_trailing_slash_and_global(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    base = f"{sfdc_emulator.base_url}/services/data/v62.0/sobjects"

    plain = requests.get(f"{base}/Event/describe", headers=headers, timeout=10).json()
    slashed = requests.get(f"{base}/Event/describe/", headers=headers, timeout=10).json()
    everything = requests.get(f"{base}/", headers=headers, timeout=10).json()

    assert plain == slashed
    assert plain["name"] == "Event" and plain["keyPrefix"] == "00U"
    fields = {f["name"]: f for f in plain["fields"]}
    assert fields["Subject"]["length"] == 255 and fields["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert fields["Id"]["createable"] is False and fields["EndDateTime"]["updateable"] is True
    assert {s["name"] for s in everything["sobjects"]} >= {"Event", "Note", "Lead", "Contact"}


def test_unsupported_version_and_unknown_object(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    old = requests.get(f"{sfdc_emulator.base_url}/services/data/v40.0/limits", headers=headers, timeout=10)
    unknown = requests.post(
        f"{sfdc_emulator.base_url}/services/data/v59.0/sobjects/Foo/", json={}, headers=headers, timeout=10
    )
    versions = requests.get(f"{sfdc_emulator.base_url}/services/data/", timeout=10).json()

    assert old.status_code == 404 and unknown.status_code == 404
    assert unknown.json()[0]["errorCode"] == "NOT_FOUND"
    assert [v["version"] for v in versions][0] == "50.0" and versions[-1]["version"] == "62.0"


def test_other_objects_and_derived_fields(sfdc_emulator):
    sf = sf_as(sfdc_emulator, seed.BOB)

    contact = sf.Contact.create(
        {"FirstName": "Zed", "LastName": "Zulu", "Email": "zed@globex.com", "AccountId": ID["account:globex"]}
    )
    lead = sf.Lead.create({"LastName": "Solo", "Company": "Acme"})
    opportunity = sf.Opportunity.create(
        {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2026-12-01", "AccountId": ID["account:hooli"]}
    )
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Contact.create({"LastName": "x", "Email": "not-an-email"})

    assert sf.Contact.get(contact["id"])["Name"] == "Zed Zulu"
    assert sf.Lead.get(lead["id"])["Status"] == "Open - Not Contacted"
    assert sf.Lead.get(lead["id"])["IsConverted"] is False
    assert sf.Opportunity.get(opportunity["id"])["IsWon"] is True
    assert errors_of(excinfo)[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
