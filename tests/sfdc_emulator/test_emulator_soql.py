"""SOQL through simple-salesforce: operators, relationships, semi-joins, paging, escapes."""

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfdc_emulator import seed
from sfdc_emulator.seed import ID, USER_IDS
from tests.fixtures.emulator import emulator_oauth_tokens, emulator_salesforce

pytestmark = pytest.mark.emulator


@pytest.fixture
def sf(sfdc_emulator):
    return emulator_salesforce(sfdc_emulator, emulator_oauth_tokens(sfdc_emulator))


def names(sf, soql):
    return [r["Name"] for r in sf.query(soql)["records"]]


def test_email_match_is_case_insensitive_and_relationships_nest(sf):
    result = sf.query(
        "SELECT Id, OwnerId, AccountId, Account.Name, Account.OwnerId, "
        "Owner.IsActive, Owner.Email, Owner.Name FROM Contact "
        "WHERE Email = 'Jane.Roe@GLOBEX.com'"
    )

    [jane] = result["records"]
    assert result["totalSize"] == 1 and result["done"] is True
    assert jane["Id"] == ID["contact:jane"]
    assert jane["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{ID['account:globex']}"},
        "Name": "Globex",
        "OwnerId": USER_IDS[seed.BOB],
    }
    assert jane["Owner"]["IsActive"] is True and jane["Owner"]["Email"] == seed.BOB
    assert jane["Owner"]["Name"] == "Bob Baker"
    assert list(jane) == ["attributes", "Id", "OwnerId", "AccountId", "Account", "Owner"]


def test_null_relationship_is_null(sf):
    [norm] = sf.query("SELECT Account.Name FROM Contact WHERE Email = 'norm@freelance.example'")["records"]

    assert norm["Account"] is None


def test_lead_lookup_skips_converted_and_matches_mixed_case(sf):
    mixed = sf.query("SELECT Id, OwnerId FROM Lead WHERE Email = 'mixed.case@leadco.example' AND IsConverted = false")[
        "records"
    ]
    converted = sf.query("SELECT Id FROM Lead WHERE Email = 'old.lead@initech.com' AND IsConverted = false")["records"]

    assert [r["Id"] for r in mixed] == [ID["lead:mixed"]]
    assert converted == []


@pytest.mark.parametrize(
    "where, expected",
    [
        ("Amount = 120000", ["Globex Renewal"]),
        ("Amount != 120000 AND IsClosed = false", ["Globex Expansion", "Vandelay Imports"]),
        ("Amount < 30000", ["Globex Pilot"]),
        ("Amount <= 30000", ["Globex Pilot", "Vandelay Imports"]),
        ("Amount > 60000", ["Globex Renewal"]),
        ("Amount >= 60000", ["Globex Renewal", "Initech Platform"]),
        ("Name IN ('globex pilot', 'INITECH PLATFORM')", ["Globex Pilot", "Initech Platform"]),
        ("Name NOT IN ('Globex Pilot') AND IsClosed = true", ["Initech Platform"]),
        ("Name LIKE 'globex%'", ["Globex Renewal", "Globex Expansion", "Globex Pilot"]),
        ("Name LIKE '_andelay%'", ["Vandelay Imports"]),
        (
            "(StageName = 'Closed Won' OR StageName = 'Qualification') AND NOT Name LIKE 'Glob%'",
            ["Initech Platform", "Vandelay Imports"],
        ),
        ("CloseDate > 2026-10-30", ["Globex Renewal", "Globex Expansion"]),
        ("LastModifiedDate > 2026-02-01T10:00:00Z", ["Globex Renewal", "Initech Platform"]),
        ("LastModifiedDate >= 2026-02-01T11:00:00+01:00", ["Globex Renewal", "Globex Expansion", "Initech Platform"]),
        ("LastModifiedDate = 2026-03-02T10:00:00.000+0000", ["Globex Renewal"]),
        ("AccountId = null", []),
        ("AccountId != null AND Account.Name = 'vandelay'", ["Vandelay Imports"]),
        ("Owner.IsActive = true AND Owner.Email = 'alice@acme.test'", ["Initech Platform"]),
    ],
)
def test_where_operators(sf, where, expected):
    assert sorted(names(sf, f"SELECT Name FROM Opportunity WHERE {where}")) == sorted(expected)


def test_semi_join_order_by_and_limit(sf):
    soql = (
        "SELECT Id, Name FROM Opportunity WHERE AccountId IN (SELECT AccountId FROM Contact "
        "WHERE Email IN ('jane.roe@globex.com')) AND IsClosed = false "
        "ORDER BY LastModifiedDate DESC LIMIT 1"
    )

    assert names(sf, soql) == ["Globex Renewal"]
    assert names(sf, soql.replace("DESC LIMIT 1", "ASC")) == ["Globex Expansion", "Globex Renewal"]
    assert names(
        sf,
        "SELECT Name FROM Opportunity WHERE AccountId NOT IN (SELECT AccountId "
        "FROM Contact WHERE Email LIKE '%globex%') ORDER BY Name",
    ) == ["Initech Platform", "Vandelay Imports"]


def test_order_by_nulls_and_multiple_keys(sf):
    ascending = names(sf, "SELECT Name FROM Contact ORDER BY Account.Name NULLS LAST, Name DESC")
    default = names(sf, "SELECT Name FROM Contact ORDER BY AccountId, Name")

    assert ascending[:3] == ["Jane Roe", "Gavin Belson", "Peter Gibbons"]
    assert ascending[-1] == "Norm Freelancer"
    assert default[0] == "Norm Freelancer"  # ASC puts nulls first


def test_count(sf):
    result = sf.query("SELECT COUNT() FROM Contact WHERE Email = 'dup@vandelay.com'")

    assert result == {"totalSize": 2, "done": True, "records": []}


def test_pagination_with_query_all(sfdc_emulator, sf):
    sfdc_emulator.control.set_settings(query_batch_size=3)

    first = sf.query("SELECT Id FROM Contact")
    everything = sf.query_all("SELECT Id, Name FROM Contact ORDER BY Name")

    assert first["done"] is False and len(first["records"]) == 3
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-3")
    assert everything["totalSize"] == 8 and len(everything["records"]) == 8
    assert [r["Name"] for r in everything["records"]][:2] == ["Alice Wesker", "Art Vandelay"]


def test_query_all_includes_deleted_records(sfdc_emulator, sf):
    sfdc_emulator.control.delete_record("Contact", ID["contact:norm"])

    live = sf.query("SELECT Id FROM Contact WHERE Email = 'norm@freelance.example'")
    everything = sf.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE Email = 'norm@freelance.example'", include_deleted=True
    )

    assert live["totalSize"] == 0
    assert everything["records"][0]["IsDeleted"] is True


def test_hostile_strings_round_trip_through_escapes(sf):
    hostile = 'O\'Brien \\ %_ "x"'
    created = sf.Contact.create({"LastName": hostile, "Email": "obrien@example.com"})

    exact = sf.query(format_soql("SELECT Id, LastName FROM Contact WHERE LastName = {}", hostile))
    like = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName LIKE '{:like}%'", "O'Brien \\ %_"))
    wildcard_is_literal = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName LIKE '{:like}'", "%_"))
    unicode = sf.query("SELECT Id FROM Contact WHERE LastName = 'O\\u0027Brien \\\\ %_ \\\"x\\\"'")

    assert [r["Id"] for r in exact["records"]] == [created["id"]]
    assert exact["records"][0]["LastName"] == hostile
    assert [r["Id"] for r in like["records"]] == [created["id"]]
    assert wildcard_is_literal["totalSize"] == 0
    assert unicode["totalSize"] == 1


@pytest.mark.parametrize(
    "soql, code",
    [
        ("SELECT Id FROM Contact WHERE Email = 'a\\q'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE Email = 'a\\%'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE Email = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3", "MALFORMED_QUERY"),
        ("SELECT Id, FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact GROUP BY Id", "MALFORMED_QUERY"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE Email = :email", "MALFORMED_QUERY"),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Foo FROM Contact", "INVALID_FIELD"),
        ("SELECT Bogus.Name FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_FIELD"),
        ("SELECT Id FROM Event WHERE StartDateTime > '2026-11-30'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE AccountId = 'xyz'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
    ],
)
def test_malformed_queries(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(soql)

    [error] = excinfo.value.content
    assert error["errorCode"] == code
    assert "ERROR at Row:1:Column:" in error["message"]


def test_event_relationships_are_polymorphic_name_objects(sfdc_emulator, sf):
    sf.Event.create(
        {
            "Subject": "Call",
            "StartDateTime": "2026-11-30T15:00:00Z",
            "DurationInMinutes": 30,
            "WhoId": ID["contact:jane"],
            "WhatId": ID["opportunity:globex_renewal"],
        }
    )

    [event] = sf.query(
        "SELECT Who.Name, What.Name, What.Type, Owner.Email FROM Event WHERE StartDateTime = 2026-11-30T15:00:00Z"
    )["records"]

    assert event["Who"]["attributes"]["type"] == "Name"
    assert event["Who"]["Name"] == "Jane Roe"
    assert event["What"]["Type"] == "Opportunity"
    assert event["Owner"]["Email"] == seed.ADMIN


def test_user_without_read_gets_invalid_type(sfdc_emulator):
    sfdc_emulator.control.set_permissions(seed.ALICE, Note={"read": False})
    sf = emulator_salesforce(sfdc_emulator, emulator_oauth_tokens(sfdc_emulator, seed.ALICE))

    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Id FROM Note")

    assert excinfo.value.content[0]["errorCode"] == "INVALID_TYPE"
