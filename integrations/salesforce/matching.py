"""Who an invitee is in Salesforce: batched lookups, every email of a claim in one /composite.

Rules (the seed page and SPEC §3): email, case-insensitive → Contact, else an unconverted
Lead. WhatId = the Contact's account's open Opportunity (the most recently modified), else
the Account; never a WhatId with a Lead. Duplicates resolve to the oldest record, so the
choice is the same every time and doesn't flip when someone edits a record.

Each of the three queries takes every email in one IN list while the statement stays within
Salesforce's 100,000 characters (about 3,000 emails); longer lists split into more query
subrequests of the same /composite first (at most 5 per call), and only then into more calls.
"""

from dataclasses import dataclass

from .client import SalesforceClient
from .errors import from_response
from .soql import in_chunks, soql_template

# Salesforce's Email fields hold at most 80 characters; anything longer can't match (and must
# not reach a SOQL string literal, which is limited to 4,000).
EMAIL_MAX = 254
QUERIES = {
    "contacts": soql_template(
        "SELECT Id, Name, Email, AccountId, Account.Name, CreatedDate FROM Contact "
        "WHERE Email IN {values} ORDER BY CreatedDate ASC, Id ASC"
    ),
    "leads": soql_template(
        "SELECT Id, Name, Email, CreatedDate FROM Lead WHERE Email IN {values} AND IsConverted = false "
        "ORDER BY CreatedDate ASC, Id ASC"
    ),
    "opportunities": soql_template(
        "SELECT Id, Name, AccountId, LastModifiedDate FROM Opportunity WHERE IsClosed = false "
        "AND AccountId IN (SELECT AccountId FROM Contact WHERE Email IN {values}) "
        "ORDER BY LastModifiedDate DESC, Id ASC"
    ),
}


@dataclass(frozen=True)
class Match:
    who_id: str | None = None
    what_id: str | None = None
    explanation: str = ""
    warnings: tuple[str, ...] = ()
    who_name: str = ""
    what_name: str = ""

    @property
    def found(self) -> bool:
        return self.who_id is not None


def normalized(emails: list[str]) -> list[str]:
    return sorted({e.strip().lower() for e in emails if e})


def lookup(client: SalesforceClient, emails: list[str]) -> dict[str, Match]:
    """Match for each email (lower-cased key), in as few /composite calls as the limits
    allow (one for up to ~3,000 emails). Raises the client's typed errors."""
    subrequests = lookup_subrequests(client, emails)
    responses: list[dict] = []
    for batch in client.composite_batches(subrequests):
        responses += client.composite(batch)
    return matches_from(client, emails, responses)


def lookup_subrequests(client: SalesforceClient, emails: list[str]) -> list[dict]:
    """The query subrequests of a lookup; reference ids are `<query>_<n>`."""
    unique = [e for e in normalized(emails) if len(e) <= EMAIL_MAX]
    if not unique:
        return []
    return [
        client.query_subrequest(f"{name}_{n}", statement)
        for name, template in QUERIES.items()
        for n, statement in enumerate(in_chunks(template, unique))
    ]


def matches_from(client: SalesforceClient, emails: list[str], responses: list[dict]) -> dict[str, Match]:
    """Matches from the composite responses of lookup_subrequests (other responses are
    ignored). Raises the typed error of a failed subrequest."""
    bodies: dict[str, list[dict]] = {name: [] for name in QUERIES}
    for response in responses:
        name = response["referenceId"].rsplit("_", 1)[0]
        if name not in QUERIES:
            continue
        if response["httpStatusCode"] != 200:
            raise from_response(response["httpStatusCode"], response["body"])
        # Large results page; the rest comes through the ordinary query endpoint.
        body = response["body"]
        bodies[name] += list(body.get("records", [])) + client.remaining_records(body)
    contacts, leads, opportunities = (
        _by_email(bodies["contacts"]),
        _by_email(bodies["leads"]),
        _by_account(bodies["opportunities"]),
    )
    return {
        email: _match_one(email, contacts.get(email, []), leads.get(email, []), opportunities)
        for email in normalized(emails)
    }


def _by_email(records: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault((record.get("Email") or "").lower(), []).append(record)
    return grouped


def _by_account(records: list[dict]) -> dict[str, dict]:
    # Each query comes ordered, but an account's opportunities can come from two statements
    # (its contacts' emails split across them): order again, as the queries do.
    ordered = sorted(
        sorted(records, key=lambda r: r["Id"]), key=lambda r: r.get("LastModifiedDate") or "", reverse=True
    )
    newest: dict[str, dict] = {}
    for record in ordered:
        newest.setdefault(record["AccountId"], record)
    return newest


def _match_one(email: str, contacts: list[dict], leads: list[dict], opportunities: dict[str, dict]) -> Match:
    if contacts:
        contact = contacts[0]
        warnings: tuple[str, ...] = ()
        explanation = f"Contact {contact['Name']}: email matched"
        if len(contacts) > 1:
            warnings = (f"{len(contacts)} contacts have the email {email}; the oldest one was used.",)
            explanation += f" (the oldest of {len(contacts)} contacts with this email)"
        account_id = contact.get("AccountId")
        opportunity = opportunities.get(account_id) if account_id else None
        if opportunity is not None:
            explanation += (
                f"; Opportunity {opportunity['Name']}: the contact's account's most recently modified open opportunity"
            )
            return Match(contact["Id"], opportunity["Id"], explanation, warnings, contact["Name"], opportunity["Name"])
        if account_id:
            account_name = (contact.get("Account") or {}).get("Name") or account_id
            explanation += f"; Account {account_name}: the contact's account (it has no open opportunity)"
            return Match(contact["Id"], account_id, explanation, warnings, contact["Name"], account_name)
        return Match(contact["Id"], None, explanation + "; the contact has no account", warnings, contact["Name"])
    if leads:
        lead = leads[0]
        explanation = f"Lead {lead['Name']}: email matched an unconverted lead (an Event on a lead takes no account or opportunity)"
        warnings = (f"{len(leads)} leads have the email {email}; the oldest one was used.",) if len(leads) > 1 else ()
        return Match(lead["Id"], None, explanation, warnings, lead["Name"])
    return Match(explanation=f"No matching contact or lead: no contact or unconverted lead has the email {email}")
