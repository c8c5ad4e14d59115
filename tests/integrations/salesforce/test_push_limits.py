"""Batches at Salesforce's own limits (issue 14, issue 12 item 12): the client checks them before
sending, splits into more subrequests of the same call first, and a whole claim costs two calls."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.salesforce import matching, outbox, soql
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.models import SyncOperation
from integrations.salesforce.push import BookingPush
from integrations.salesforce.services import client_for
from integrations.salesforce.soql import STATEMENT_MAX_CHARS, in_chunks
from sfdc_emulator.seed import ID
from tests.fixtures.factories import make_booking

TEMPLATE = "SELECT Id FROM Contact WHERE Email IN {values} ORDER BY CreatedDate"


def offline_client() -> SalesforceClient:
    connection = SimpleNamespace(
        pk=1, instance_url="https://acme.my.salesforce.com", access_token="t", api_usage_total=None, api_usage_used=None
    )
    return SalesforceClient(connection)


# ---- unit: the limits, checked before anything is sent ----------------------------------------
def test_an_in_list_fills_each_statement_up_to_100000_characters_and_keeps_every_value():
    emails = [f"person{n:05d}@example.org" for n in range(8000)]

    statements = in_chunks(TEMPLATE, emails)

    assert len(statements) == 3  # 8,000 × 27 characters ≈ 216,000: three statements, no more
    assert all(len(s) <= STATEMENT_MAX_CHARS for s in statements)
    assert len(statements[0]) > STATEMENT_MAX_CHARS - 30  # filled, not cut early
    assert sum(s.count("@example.org") for s in statements) == 8000
    assert statements[0].startswith("SELECT Id FROM Contact WHERE Email IN ('person00000@example.org',")
    assert statements[0].endswith("') ORDER BY CreatedDate")


def test_a_string_longer_than_a_soql_literal_may_be_is_refused_before_sending():
    with pytest.raises(ValueError, match="4,000"):
        in_chunks(TEMPLATE, ["a" * 4001])
    assert len(in_chunks(TEMPLATE, ["a" * 4000])) == 1


def test_a_get_query_past_the_uri_limit_and_an_overlong_statement_are_refused_before_sending():
    client = offline_client()
    long_in_list = soql.soql("SELECT Id FROM Contact WHERE Email IN {}", [f"p{n}@example.org" for n in range(1000)])

    with pytest.raises(ValueError, match="16,384"):
        client.query(long_in_list)  # ~19,000 characters: fine as a statement, too long for a GET
    with pytest.raises(ValueError, match="100,000"):
        client.query_subrequest("q", "SELECT Id FROM Contact WHERE Name = 'x' " + " " * STATEMENT_MAX_CHARS)
    assert client.api_calls == 0


def test_composite_batches_carry_at_most_five_queries_or_collections_per_call():
    client = offline_client()
    queries = [client.query_subrequest(f"q{n}", "SELECT Id FROM Lead") for n in range(7)]
    creates = [client.collection_subrequest(f"c{n}", "POST", "Event", [{"Subject": "x"}]) for n in range(4)]
    plain = [client.describe_subrequest(f"d{n}", "Event") for n in range(3)]

    batches = client.composite_batches(queries + plain + creates)

    assert [[s["referenceId"] for s in batch] for batch in batches] == [
        ["q0", "q1", "q2", "q3", "q4"],
        ["q5", "q6", "d0", "d1", "d2", "c0", "c1", "c2"],
        ["c3"],
    ]
    with pytest.raises(ValueError, match="at most 5 query or sObject Collections"):
        client.composite(queries[:6])
    assert creates[0]["url"] == "/services/data/v59.0/composite/sobjects"
    assert creates[0]["body"] == {"allOrNone": False, "records": [{"attributes": {"type": "Event"}, "Subject": "x"}]}


# ---- over the emulator's socket -----------------------------------------------------------------
@pytest.mark.emulator
@pytest.mark.django_db
def test_lookups_split_into_more_subrequests_of_the_same_call_before_more_calls(team, monkeypatch):
    # Given statements limited to ~2,500 characters, 150 emails need two statements per query
    monkeypatch.setattr(soql, "STATEMENT_MAX_CHARS", 2500)
    emails = [f"stranger{n:03d}@example.org" for n in range(148)] + ["jane.roe@globex.com", "sam@leadco.example"]
    client = client_for(team.connection)

    matches = matching.lookup(client, emails)

    # Then six query subrequests: five in the first /composite, one in the second
    assert client.api_calls == 2
    assert matches["jane.roe@globex.com"].who_id == ID["contact:jane"]
    assert matches["jane.roe@globex.com"].what_id == ID["opportunity:globex_renewal"]
    assert matches["sam@leadco.example"].who_id == ID["lead:sam"]
    assert not matches["stranger000@example.org"].found


@pytest.mark.emulator
@pytest.mark.django_db
def test_a_claim_of_1000_bookings_with_1000_distinct_invitees_costs_two_calls(team):
    # Given 1,000 new bookings, every invitee different (a few of them known contacts and leads)
    known = ["jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "art@vandelay.com"]
    hosts = ["alice", "bob", "carol", "dave"]
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    with transaction.atomic():
        bookings = []
        for i in range(1000):
            email = known[i // 250] if i % 250 == 0 else f"invitee.{i:04d}@customer{i % 37}.example"
            booking = make_booking(team.links[hosts[i % 4]], start=start + timedelta(minutes=30 * i), email=email)
            outbox.booking_changed(booking=booking, trigger=SyncOperation.Trigger.CONFIRMED)
            bookings.append(booking)
    control = team.emulator.control
    control.reset_calls()

    outcomes = BookingPush(client_for(team.connection), team.connection, [b.pk for b in bookings]).run()

    # Then one /composite of lookups and one of five 200-record creates
    calls = control.calls()
    assert [c["path"] for c in calls] == ["/services/data/v59.0/composite/"] * 2
    assert calls[0]["subrequests"].splitlines() == ["GET /query/"] * 3
    assert calls[1]["subrequests"].splitlines() == ["POST /composite/sobjects"] * 5
    assert {o.state for o in outcomes.values()} == {SyncOperation.State.PUSHED}
    events = team.events()
    assert len(events) == 1000
    jane = next(e for e in events if bookings[0].get_member_path() in e["Description"])
    assert jane["WhoId"] == ID["contact:jane"] and jane["WhatId"] == ID["opportunity:globex_renewal"]


# ---- issue 13: no doubled "with" -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("30 min intro with Bob", "30 min intro with Bob and Jane Roe"),
        ("Demo", "Demo with Jane Roe"),
        ("Coffee WITH the team ", "Coffee WITH the team and Jane Roe"),
        ("Withholding review", "Withholding review with Jane Roe"),  # a word, not a prefix
    ],
)
def test_the_meeting_name_never_says_with_twice(title, expected):
    from integrations.salesforce.payloads import meeting_name

    assert meeting_name(title, " Jane Roe") == expected
