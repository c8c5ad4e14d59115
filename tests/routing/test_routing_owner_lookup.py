"""owner_lookup without Salesforce: the SOQL it builds, domains, free mail, the no-call paths."""

import pytest

from integrations.salesforce import owner_lookup
from integrations.salesforce.models import SalesforceConnection
from integrations.salesforce.owner_lookup import OwnerResult, company_domain, find_owner, lookup_queries, website_domain

OWNER = "OwnerId, Owner.Name, Owner.Email, Owner.IsActive"


def test_a_hostile_email_is_escaped_in_every_query():
    queries = lookup_queries("o'brien\\%_@x.com", "x.com")

    assert queries == {
        "contacts": f"SELECT Id, Name, Email, {OWNER} FROM Contact WHERE Email = 'o\\'brien\\\\%_@x.com' "
        "ORDER BY CreatedDate ASC, Id ASC LIMIT 10",
        "leads": f"SELECT Id, Name, Email, {OWNER} FROM Lead WHERE Email = 'o\\'brien\\\\%_@x.com' "
        "AND IsConverted = false ORDER BY CreatedDate ASC, Id ASC LIMIT 10",
        "accounts": f"SELECT Id, Name, Website, {OWNER} FROM Account WHERE Website LIKE '%x.com%' "
        "ORDER BY CreatedDate ASC, Id ASC LIMIT 50",
    }


def test_like_wildcards_and_quotes_in_the_domain_are_escaped():
    queries = lookup_queries("a@x%_'.com", "x%_'.com")

    assert "WHERE Website LIKE '%x\\%\\_\\'.com%' ORDER BY" in queries["accounts"]


def test_an_injection_attempt_stays_inside_its_string_literal():
    queries = lookup_queries("x' OR Email != '", None)

    assert "WHERE Email = 'x\\' OR Email != \\'' ORDER BY" in queries["contacts"]
    assert "accounts" not in queries  # no domain, no account query


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.globex.com", "globex.com"),
        ("http://Globex.COM/about?x=1", "globex.com"),
        ("globex.com", "globex.com"),
        ("www.globex.com:8443/path", "globex.com"),
        ("  GLOBEX.com.  ", "globex.com"),
        ("https://shop.globex.com", "shop.globex.com"),
        ("", ""),
        (None, ""),
        ("http://[not-a-host", ""),
    ],
)
def test_website_domains_are_normalised(website, domain):
    assert website_domain(website) == domain


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("jane@globex.com", "globex.com"),
        ("jane@WWW.Globex.com", "globex.com"),
        ("jane@gmail.com", None),
        ("jane@googlemail.com", None),
        ("jane@yahoo.co.uk", None),
        ("jane@yahoo.fr", None),
        ("jane@outlook.com", None),
        ("jane@hotmail.de", None),
        ("jane@live.com", None),
        ("jane@icloud.com", None),
        ("jane@me.com", None),
        ("jane@aol.com", None),
        ("jane@proton.me", None),
        ("jane@protonmail.com", None),
        ("jane@gmx.net", None),
        ("jane@mail.com", None),
        ("jane@yandex.ru", None),
        ("jane@localhost", None),
        ("jane@", None),
    ],
)
def test_company_domains_exclude_free_mail(email, domain):
    assert company_domain(email) == domain


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (SalesforceConnection.Status.NEEDS_RECONNECT, "needs_reconnect"),
        (SalesforceConnection.Status.DISCONNECTED, "not_connected"),
    ],
)
def test_an_unusable_connection_answers_at_once_without_a_client(workspace, monkeypatch, status, kind):
    connection = SalesforceConnection.objects.create(workspace=workspace, status=status)
    monkeypatch.setattr(owner_lookup, "SalesforceClient", None)  # any client use would raise

    result = find_owner(connection, "jane.roe@globex.com", timeout=1)

    assert (result.error_kind, result.api_calls, result.found) == (kind, 0, False)


def test_no_connection_at_all_is_not_connected():
    assert find_owner(None, "jane.roe@globex.com").error == "Salesforce is not connected"


def test_results_survive_the_cache_round_trip():
    result = OwnerResult(
        owner_sf_id="005000000000001AAA", owner_active=True, owner_name="Bob", source="contact", api_calls=1
    )

    assert OwnerResult.from_dict(result.to_dict()) == result
    assert result.owner_is_user and result.owner_label == "Bob"
    assert not OwnerResult(owner_sf_id="00G000000000001AAA").owner_is_user
