"""The "Salesforce lookup" route against the emulator, over a real socket.

Each test asserts where the invitee lands and how many API calls Salesforce counted:
one composite call per lookup, none for a cached repeat or when Salesforce isn't usable.
"""

import time
from urllib.parse import urlencode

import pytest

from integrations.salesforce.models import SalesforceConnection
from integrations.salesforce.services import mapping_set_override
from routing.models import Submission
from sfdc_emulator.seed import ID, NONOTES, USER_IDS
from tests.fixtures.factories import make_link, make_member, make_workspace
from tests.fixtures.salesforce import connect_workspace
from tests.routing.routing_support import save_form, sf_route

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
FORM_URL = "/forms/acme/talk/"
NO_OWNER = "no contact, unconverted lead or account in Salesforce matches this email"


@pytest.fixture
def routing(team):
    """Acme (alice, bob, carol → carol.sales, dave unmapped; default links), connected, with a
    form whose only route is a Salesforce lookup and whose fallback is Alice's link."""
    team.form = save_form(team.workspace, routes=[sf_route()], fallback=team.links["alice"])
    team.emulator.control.reset_calls()
    return team


def booking_url(slug, email, name=""):
    return f"/book/acme/{slug}/?{urlencode({'name': name, 'email': email})}"


def submit(client, email, **answers):
    return client.post(FORM_URL, {"email": email, "company": "Any Co", **answers})


def calls_for(team, action):
    """Run `action`, return (its result, API calls Salesforce counted meanwhile)."""
    before = team.emulator.control.count()
    result = action()
    return result, team.emulator.control.count() - before


def last_submission() -> Submission:
    return Submission.objects.latest("id")


def test_a_contacts_owner_gets_the_invitee(client, routing):
    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com", name="Jane Roe"))

    assert response.status_code == 302
    assert response["Location"] == booking_url("bob", "jane.roe@globex.com", "Jane Roe")
    assert calls == 1
    submission = last_submission()
    assert (submission.route_label, submission.used_fallback, submission.api_calls) == ("Route 1", False, 1)
    assert (submission.owner_source, submission.sf_record_name, submission.owner_email) == (
        "contact",
        "Jane Roe",
        "bob@acme.test",
    )
    assert submission.owner_member == routing.users["bob"]
    assert "Contact Jane Roe has the email jane.roe@globex.com" in submission.explanation


def test_an_unconverted_leads_owner_gets_the_invitee_through_the_mapping_override(client, routing):
    response, calls = calls_for(routing, lambda: submit(client, "sam@leadco.example"))

    assert response["Location"] == booking_url("carol", "sam@leadco.example")
    assert calls == 1
    submission = last_submission()
    assert submission.owner_source == "lead" and submission.owner_member == routing.users["carol"]


def test_the_account_whose_website_is_the_emails_domain_decides(client, routing):
    # Globex's website is "https://www.globex.com": scheme and www. don't count.
    response, calls = calls_for(routing, lambda: submit(client, "new.buyer@globex.com"))

    assert response["Location"] == booking_url("bob", "new.buyer@globex.com")
    assert calls == 1
    submission = last_submission()
    assert (submission.owner_source, submission.sf_record_name) == ("account_domain", "Globex")


def test_a_similar_but_different_domain_does_not_match_an_account(client, routing):
    routing.emulator.control.create_record(
        "Account", {"Name": "Not Globex", "Website": "notglobex.com", "OwnerId": USER_IDS["carol.sales@acme.test"]}
    )

    response, calls = calls_for(routing, lambda: submit(client, "x@globex.co"))

    assert response["Location"] == booking_url("alice", "x@globex.co")
    assert calls == 1
    assert last_submission().fallback_reason == NO_OWNER


def test_email_case_does_not_matter(client, routing):
    response, calls = calls_for(routing, lambda: submit(client, "JANE.Roe@GLOBEX.com"))

    assert response["Location"] == booking_url("bob", "JANE.Roe@GLOBEX.com")
    assert calls == 1
    response, calls = calls_for(routing, lambda: submit(client, "mixed.case@leadco.example"))
    assert response["Location"] == booking_url("bob", "mixed.case@leadco.example")
    assert calls == 1


def test_free_mail_never_matches_an_account_by_domain(client, routing):
    routing.emulator.control.create_record(
        "Account", {"Name": "Gmail fan club", "Website": "https://gmail.com", "OwnerId": USER_IDS["bob@acme.test"]}
    )

    response, calls = calls_for(routing, lambda: submit(client, "someone@gmail.com"))

    assert response["Location"] == booking_url("alice", "someone@gmail.com")
    assert calls == 1
    submission = last_submission()
    assert submission.used_fallback and submission.owner_sf_id == ""
    assert submission.fallback_reason == NO_OWNER
    assert "free mail" in submission.explanation


def test_an_owner_with_no_workestra_member_sends_to_the_fallback(client, routing):
    routing.emulator.control.create_record(
        "Contact",
        {"FirstName": "Uma", "LastName": "Unmapped", "Email": "uma@unmapped.example", "OwnerId": USER_IDS[NONOTES]},
    )

    response, calls = calls_for(routing, lambda: submit(client, "uma@unmapped.example"))

    assert response["Location"] == booking_url("alice", "uma@unmapped.example")
    assert calls == 1
    submission = last_submission()
    assert (
        submission.fallback_reason
        == "Salesforce owner Nora Nonotes (nonotes@acme.test) is not mapped to a Workestra member"
    )
    assert submission.owner_sf_id == USER_IDS[NONOTES] and submission.owner_member is None
    assert (submission.route_label, submission.route_action, submission.used_fallback) == (
        "Route 1",
        "salesforce_lookup",
        True,
    )
    assert submission.link == routing.links["alice"]


def test_an_inactive_owner_sends_to_the_fallback(client, routing):
    response, calls = calls_for(routing, lambda: submit(client, "alice.wesker@umbrella.example"))

    assert response["Location"] == booking_url("alice", "alice.wesker@umbrella.example")
    assert calls == 1
    assert last_submission().fallback_reason == "Salesforce owner Fran Former (former@acme.test) is inactive"


def test_an_owner_deactivated_in_the_user_cache_counts_as_inactive(client, routing):
    routing.connection.org_users.filter(email="bob@acme.test").update(is_active=False)

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 1
    assert last_submission().fallback_reason == "Salesforce owner Bob Baker (bob@acme.test) is inactive"


def test_a_lead_owned_by_a_queue_sends_to_the_fallback(client, routing, monkeypatch):
    # The emulator has no queues; give a lead a queue-shaped owner id the way Salesforce would.
    from integrations.salesforce import owner_lookup

    real = owner_lookup._owner_from

    def with_queue_owner(responses, email, domain):
        for response in responses:
            for record in response["body"].get("records", []):
                if response["referenceId"] == "leads":
                    record["OwnerId"], record["Owner"] = (
                        "00G000000000001AAA",
                        {"Name": "Sales Queue", "Email": None, "IsActive": None},
                    )
        return real(responses, email, domain)

    monkeypatch.setattr(owner_lookup, "_owner_from", with_queue_owner)

    response, calls = calls_for(routing, lambda: submit(client, "sam@leadco.example"))

    assert response["Location"] == booking_url("alice", "sam@leadco.example")
    assert calls == 1
    assert last_submission().fallback_reason == "the lead is owned by Sales Queue, a queue, not a user"


def test_no_match_sends_to_the_fallback(client, routing):
    response, calls = calls_for(routing, lambda: submit(client, "nobody@nowhere-inc.example"))

    assert response["Location"] == booking_url("alice", "nobody@nowhere-inc.example")
    assert calls == 1
    submission = last_submission()
    assert submission.fallback_reason == NO_OWNER
    assert submission.explanation == (
        "Route 1 (no conditions): Salesforce lookup; No contact or unconverted lead has the email "
        "nobody@nowhere-inc.example, and no account's website is nowhere-inc.example; "
        f"fallback: {NO_OWNER}; the fallback: booking link “Intro with Alice” of Alice Adams"
    )


def test_salesforce_unavailable_sends_to_the_fallback_at_once(client, routing):
    routing.emulator.control.set_faults(fail={"status": 503, "count": 1})

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 0  # Salesforce does not count a request it refused with 503
    submission = last_submission()
    assert submission.api_calls == 1
    assert submission.fallback_reason.startswith("Salesforce is unavailable (SERVER_UNAVAILABLE")


def test_a_slow_salesforce_is_given_up_on_within_the_bound(client, routing, settings):
    settings.SALESFORCE_ROUTING_TIMEOUT = 1
    routing.emulator.control.set_faults(latency_ms=4000)

    started = time.monotonic()
    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))
    elapsed = time.monotonic() - started

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert elapsed < 1 + 1.5
    assert calls <= 1  # the emulator counts the call it is still answering slowly
    assert last_submission().fallback_reason == "Salesforce did not answer within 1 s"


def test_an_expired_session_is_refreshed_within_the_bound(client, routing):
    routing.emulator.control.expire_tokens()

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("bob", "jane.roe@globex.com")
    assert calls == 1  # the 401 is not counted; the retried composite is
    assert last_submission().api_calls == 2
    routing.refresh()
    assert routing.connection.status == SalesforceConnection.Status.CONNECTED


def test_a_revoked_refresh_token_flips_the_connection_and_falls_back(client, routing):
    routing.emulator.control.revoke_tokens()
    routing.emulator.control.expire_tokens()

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 0
    assert last_submission().fallback_reason == "the Salesforce connection needs to be reconnected"
    assert routing.refresh().status == SalesforceConnection.Status.NEEDS_RECONNECT


def test_needs_reconnect_falls_back_without_calling_salesforce(client, routing):
    SalesforceConnection.objects.filter(pk=routing.connection.pk).update(
        status=SalesforceConnection.Status.NEEDS_RECONNECT
    )

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 0
    submission = last_submission()
    assert (submission.api_calls, submission.fallback_reason) == (
        0,
        "the Salesforce connection needs to be reconnected",
    )


def test_disconnected_falls_back_without_calling_salesforce(client, routing):
    SalesforceConnection.objects.filter(pk=routing.connection.pk).update(
        status=SalesforceConnection.Status.DISCONNECTED
    )

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 0
    assert last_submission().fallback_reason == "Salesforce is not connected"


def test_a_workspace_without_a_connection_falls_back_without_calling_salesforce(client, sf_settings, sfdc_emulator):
    workspace = make_workspace("acme", "Acme")
    alice = make_member(workspace, "alice@acme.test", first_name="Alice", last_name="Adams")
    save_form(workspace, routes=[sf_route()], fallback=make_link(alice, slug="alice", is_default=True))
    before = sfdc_emulator.control.count()

    response = submit(client, "jane.roe@globex.com")

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert sfdc_emulator.control.count() - before == 0
    assert last_submission().fallback_reason == "Salesforce is not connected"


def test_a_double_submit_costs_one_lookup(client, routing):
    first, first_calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))
    second, second_calls = calls_for(routing, lambda: submit(client, "Jane.Roe@globex.com"))

    assert first["Location"] == booking_url("bob", "jane.roe@globex.com")
    assert second["Location"] == booking_url("bob", "Jane.Roe@globex.com")
    assert (first_calls, second_calls) == (1, 0)
    repeat = last_submission()
    assert (repeat.api_calls, repeat.lookup_cached, repeat.owner_member) == (0, True, routing.users["bob"])


def test_failures_are_not_cached(client, routing):
    routing.emulator.control.set_faults(fail={"status": 503, "count": 1})
    submit(client, "jane.roe@globex.com")

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("bob", "jane.roe@globex.com")
    assert calls == 1


def test_the_cache_is_per_workspace(client, routing, sf_settings):
    submit(client, "jane.roe@globex.com")
    other = make_workspace("initech", "Initech")
    other_admin = make_member(other, "admin@initech.test", role="admin")
    other_bob = make_member(other, "bob.other@initech.test")
    save_form(other, routes=[sf_route()], fallback=make_link(other_admin, slug="admin", is_default=True))
    connect_workspace(other, other_admin, routing.emulator)
    mapping_set_override(connection=other.salesforce_connection, user=other_bob, sf_user_id=USER_IDS["bob@acme.test"])
    make_link(other_bob, slug="bob", is_default=True)

    response, calls = calls_for(routing, lambda: client.post("/forms/initech/talk/", {"email": "jane.roe@globex.com"}))

    assert response["Location"] == "/book/initech/bob/?" + urlencode({"name": "", "email": "jane.roe@globex.com"})
    assert calls == 1


@pytest.mark.parametrize(
    "email",
    [
        "o'brien%_@globex.com",
        "\"x'OR'1'='1\"@globex.com",
        '"back\\\\slash"@globex.com',
        '"a\\"b"@globex.com',
        "a'b@GLOBEX.com",
    ],
)
def test_hostile_but_valid_emails_are_escaped_and_match_safely(client, routing, email):
    response, calls = calls_for(routing, lambda: submit(client, email))

    # No contact or lead has these addresses; the Account with website globex.com does.
    assert response.status_code == 302
    assert response["Location"] == booking_url("bob", email)
    assert calls == 1
    assert last_submission().owner_source == "account_domain"


def test_find_owner_with_hostile_strings_never_errors(routing):
    from integrations.salesforce.owner_lookup import find_owner

    for email in ["o'brien\\%_@x.com", "a@x%_'.com", "' OR Id != '@' OR Id != '", "\\'; DELETE@x.com", "@", ""]:
        result = find_owner(routing.connection, email, timeout=3)
        assert result.error == "" and result.owner_sf_id == "", email


def test_a_composite_subrequest_error_falls_back(client, routing, monkeypatch):
    """A query Salesforce rejects inside the composite (e.g. a field the org hides) is a fallback."""
    from integrations.salesforce import owner_lookup

    real = owner_lookup._subrequests

    def broken(client_, email, domain):
        subrequests = real(client_, email, domain)
        subrequests[0]["url"] = subrequests[0]["url"].replace("Owner.IsActive", "Owner.NoSuchField")
        return subrequests

    monkeypatch.setattr(owner_lookup, "_subrequests", broken)

    response, calls = calls_for(routing, lambda: submit(client, "jane.roe@globex.com"))

    assert response["Location"] == booking_url("alice", "jane.roe@globex.com")
    assert calls == 1
    assert last_submission().fallback_reason.startswith("Salesforce refused the lookup (INVALID_FIELD")


def test_the_contact_beats_the_lead_and_the_account(client, routing):
    """peter@initech.com is a Contact (Alice) and once was a converted Lead; the Contact decides."""
    routing.emulator.control.update_record("Contact", ID["contact:peter"], {"OwnerId": USER_IDS["bob@acme.test"]})

    response, calls = calls_for(routing, lambda: submit(client, "peter@initech.com"))

    assert response["Location"] == booking_url("bob", "peter@initech.com")
    assert calls == 1
    assert last_submission().owner_source == "contact"
