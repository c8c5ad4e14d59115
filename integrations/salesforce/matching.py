"""Who an invitee is in Salesforce: batched lookups (one composite call per 100 emails).

Rules (the seed page and SPEC §3): email, case-insensitive → Contact, else an unconverted
Lead. WhatId = the Contact's account's open Opportunity (the most recently modified), else
the Account; never a WhatId with a Lead. Duplicates resolve to the oldest record, so the
choice is the same every time and doesn't flip when someone edits a record.
"""
from dataclasses import dataclass

from .client import SalesforceClient
from .errors import from_response
from .soql import soql

EMAILS_PER_CALL = 100


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


def lookup(client: SalesforceClient, emails: list[str]) -> dict[str, Match]:
    """Match for each email (lower-cased key). Raises the client's typed errors."""
    unique = sorted({e.strip().lower() for e in emails if e})
    matches: dict[str, Match] = {}
    for start in range(0, len(unique), EMAILS_PER_CALL):
        chunk = unique[start : start + EMAILS_PER_CALL]
        contacts, leads, opportunities = _query_chunk(client, chunk)
        for email in chunk:
            matches[email] = _match_one(email, contacts.get(email, []), leads.get(email, []), opportunities)
    return matches


def _query_chunk(client: SalesforceClient, emails: list[str]):
    responses = client.composite(
        [
            client.query_subrequest(
                "contacts",
                soql(
                    "SELECT Id, Name, Email, AccountId, Account.Name, CreatedDate FROM Contact "
                    "WHERE Email IN {} ORDER BY CreatedDate ASC, Id ASC",
                    emails,
                ),
            ),
            client.query_subrequest(
                "leads",
                soql(
                    "SELECT Id, Name, Email, CreatedDate FROM Lead WHERE Email IN {} AND IsConverted = false "
                    "ORDER BY CreatedDate ASC, Id ASC",
                    emails,
                ),
            ),
            client.query_subrequest(
                "opportunities",
                soql(
                    "SELECT Id, Name, AccountId, LastModifiedDate FROM Opportunity WHERE IsClosed = false "
                    "AND AccountId IN (SELECT AccountId FROM Contact WHERE Email IN {}) "
                    "ORDER BY LastModifiedDate DESC, Id ASC",
                    emails,
                ),
            ),
        ]
    )
    bodies = {}
    for response in responses:
        if response["httpStatusCode"] != 200:
            raise from_response(response["httpStatusCode"], response["body"])
        # Large results page; the rest comes through the ordinary query endpoint.
        body = response["body"]
        bodies[response["referenceId"]] = list(body.get("records", [])) + client.remaining_records(body)
    return _by_email(bodies["contacts"]), _by_email(bodies["leads"]), _by_account(bodies["opportunities"])


def _by_email(records: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault((record.get("Email") or "").lower(), []).append(record)
    return grouped


def _by_account(records: list[dict]) -> dict[str, dict]:
    newest: dict[str, dict] = {}
    for record in records:  # already ordered most recently modified first
        newest.setdefault(record["AccountId"], record)
    return newest


def _match_one(email: str, contacts: list[dict], leads: list[dict], opportunities: dict[str, dict]) -> Match:
    if contacts:
        contact = contacts[0]
        warnings = ()
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
