"""Who owns an invitee in Salesforce, for the routing forms' "Salesforce lookup" route.

One composite call (one API call) with up to three queries: the Contact with the email, else an
unconverted Lead with it, else the Account whose website's domain is the email's domain. The
caller maps the owner to a member (selectors.member_for_sf_user).

An invitee is waiting on the other end, so `find_owner` never raises and never takes much
longer than its `timeout`: a session refresh is attempted only within what is left of it, and
every failure comes back in OwnerResult.error for the routing form to fall back on.
"""

import logging
import time
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlsplit

from django.conf import settings

from .client import SalesforceClient
from .crypto import is_unreadable
from .errors import (
    NeedsReconnectError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    SalesforceError,
    from_response,
)
from .models import SalesforceConnection, SalesforceUser
from .soql import like_contains, soql
from .tokens import mark_tokens_unreadable, refresh_access_token

logger = logging.getLogger("integrations.salesforce.owner_lookup")

USER_ID_PREFIX = "005"  # a Lead may be owned by a Queue (00G...), which has no booking link
EMAIL_MAX_LENGTH = 254
RECORDS_PER_QUERY = 10
ACCOUNTS_PER_QUERY = 50  # the LIKE prefilter is loose ("acme.com" also finds "notacme.com")
MIN_REFRESH_SECONDS = 0.25

# Free-mail providers: an address there says nothing about the invitee's company. Families
# are matched on the first label so every country domain counts (yahoo.co.uk, gmx.de, ...).
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "ymail.com",
        "rocketmail.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aim.com",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "mail.com",
        "email.com",
        "zoho.com",
        "zohomail.com",
        "fastmail.com",
        "fastmail.fm",
        "hey.com",
        "tutanota.com",
        "tuta.io",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "qq.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "naver.com",
        "daum.net",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "rediffmail.com",
        "hushmail.com",
        "mailbox.org",
        "posteo.de",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "btinternet.com",
        "bigpond.com",
        "shaw.ca",
        "rogers.com",
    }
)
FREE_MAIL_FAMILIES = frozenset({"yahoo", "gmx", "yandex", "hotmail", "outlook", "live", "windowslive"})


@dataclass(frozen=True)
class OwnerResult:
    """What the lookup found. `error` is set (in plain words) when Salesforce could not be
    asked or did not answer; then nothing else is meaningful and the result must not be cached."""

    owner_sf_id: str = ""
    owner_active: bool | None = None
    owner_name: str = ""
    owner_email: str = ""
    source: str | None = None  # "contact" | "lead" | "account_domain" | None
    record_id: str = ""
    record_name: str = ""
    explanation: str = ""
    api_calls: int = 0
    daily_api_total: int | None = None  # the org's daily allotment, from the last answer's Sforce-Limit-Info
    error: str = ""
    # not_connected | needs_reconnect | timeout | unavailable | rate_limited | refused | error,
    # and (set by routing.salesforce_route, before any call) throttled | routing_budget
    error_kind: str = ""

    @property
    def found(self) -> bool:
        return bool(self.owner_sf_id) and not self.error

    @property
    def owner_is_user(self) -> bool:
        return self.owner_sf_id.startswith(USER_ID_PREFIX)

    @property
    def owner_label(self) -> str:
        """'Bob Baker (bob@acme.test)', for explanations."""
        name = self.owner_name or self.owner_sf_id
        return f"{name} ({self.owner_email})" if self.owner_email else name

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "OwnerResult":
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def find_owner(connection: SalesforceConnection | None, email: str, *, timeout: float | None = None) -> OwnerResult:
    """Look up the owner of `email` (case-insensitive). Never raises; costs at most one API
    call (plus one retry after a session refresh); returns within about `timeout` seconds
    (default settings.SALESFORCE_ROUTING_TIMEOUT). Reads only, so safe to repeat; each call
    spends the customer's API allotment, hence the caller's cache."""
    timeout = float(timeout or settings.SALESFORCE_ROUTING_TIMEOUT)
    email = (email or "").strip().lower()[:EMAIL_MAX_LENGTH]
    unavailable = _unavailable(connection)
    if unavailable is not None or connection is None:
        return unavailable or OwnerResult(error="Salesforce is not connected", error_kind="not_connected")
    if "@" not in email:
        return OwnerResult(explanation="No email address to look up.")
    domain = company_domain(email)
    started = time.monotonic()
    client = None
    try:
        client = _bounded_client(connection, deadline=started + timeout)
        responses = client.composite(_subrequests(client, email, domain))
        result = _with_cached_activity(connection, _owner_from(responses, email, domain))
    except SalesforceError as exc:
        result = _failure(exc, timeout=timeout, elapsed=time.monotonic() - started)
    except Exception:  # a malformed answer must not turn into a 500 for an invitee
        logger.exception("salesforce.owner_lookup.unexpected", extra={"connection_id": connection.pk})
        result = OwnerResult(error="Salesforce's answer could not be read", error_kind="error")
    logger.info(
        "salesforce.owner_lookup",
        extra={
            "connection_id": connection.pk,
            "source": result.source,
            "error_kind": result.error_kind,
            "api_calls": client.api_calls if client else 0,
            "duration_ms": int((time.monotonic() - started) * 1000),
        },
    )
    usage = client.usage if client else None
    return replace(result, api_calls=client.api_calls if client else 0, daily_api_total=usage.total if usage else None)


def _unavailable(connection) -> OwnerResult | None:
    if connection is None or connection.status == SalesforceConnection.Status.DISCONNECTED:
        return OwnerResult(error="Salesforce is not connected", error_kind="not_connected")
    if connection.status == SalesforceConnection.Status.NEEDS_RECONNECT:
        return OwnerResult(error="the Salesforce connection needs to be reconnected", error_kind="needs_reconnect")
    if is_unreadable(connection.access_token) or is_unreadable(connection.refresh_token):
        # No key decrypts them: sending would only spend a call on a 401. Say so instead.
        mark_tokens_unreadable(connection.pk)
        return OwnerResult(error="the Salesforce connection needs to be reconnected", error_kind="needs_reconnect")
    return None


# ---- domains -------------------------------------------------------------------------------
def company_domain(email: str) -> str | None:
    """The email's domain when it can name a company; None for free mail or no domain."""
    domain = normalise_domain(email.rpartition("@")[2])
    if not domain or "." not in domain or is_free_mail(domain):
        return None
    return domain


def is_free_mail(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS or domain.split(".", 1)[0] in FREE_MAIL_FAMILIES


def website_domain(website: str | None) -> str:
    """'https://www.Globex.com/about' -> 'globex.com'."""
    value = (website or "").strip()
    if not value:
        return ""
    if "://" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return normalise_domain(host)


def normalise_domain(domain: str) -> str:
    domain = domain.strip().strip(".").lower()
    domain = domain.removeprefix("www.")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


# ---- the call ------------------------------------------------------------------------------
def lookup_queries(email: str, domain: str | None) -> dict[str, str]:
    """The SOQL of a lookup, by composite referenceId (no account query without a domain)."""
    queries = {
        "contacts": soql(
            "SELECT Id, Name, Email, OwnerId, Owner.Name, Owner.Email, Owner.IsActive FROM Contact "
            "WHERE Email = {} ORDER BY CreatedDate ASC, Id ASC LIMIT {}",
            email,
            RECORDS_PER_QUERY,
        ),
        "leads": soql(
            "SELECT Id, Name, Email, OwnerId, Owner.Name, Owner.Email, Owner.IsActive FROM Lead "
            "WHERE Email = {} AND IsConverted = false ORDER BY CreatedDate ASC, Id ASC LIMIT {}",
            email,
            RECORDS_PER_QUERY,
        ),
    }
    if domain:
        queries["accounts"] = soql(
            "SELECT Id, Name, Website, OwnerId, Owner.Name, Owner.Email, Owner.IsActive FROM Account "
            "WHERE Website LIKE {:literal} ORDER BY CreatedDate ASC, Id ASC LIMIT {}",
            like_contains(domain),
            ACCOUNTS_PER_QUERY,
        )
    return queries


def _subrequests(client: SalesforceClient, email: str, domain: str | None) -> list[dict]:
    return [client.query_subrequest(ref, query) for ref, query in lookup_queries(email, domain).items()]


def _owner_from(responses: list[dict], email: str, domain: str | None) -> OwnerResult:
    records = {}
    for response in responses:
        if response.get("httpStatusCode") != 200:
            raise from_response(response.get("httpStatusCode") or 500, response.get("body"))
        records[response["referenceId"]] = response["body"].get("records") or []
    if records.get("contacts"):
        record = records["contacts"][0]
        return _result(record, "contact", f"Contact {record.get('Name')} has the email {email}")
    if records.get("leads"):
        record = records["leads"][0]
        return _result(record, "lead", f"Unconverted lead {record.get('Name')} has the email {email}")
    accounts = [a for a in records.get("accounts", []) if domain and website_domain(a.get("Website")) == domain]
    if accounts:
        record = accounts[0]
        return _result(
            record, "account_domain", f"Account {record.get('Name')}: its website {record.get('Website')} is {domain}"
        )
    explanation = f"No contact or unconverted lead has the email {email}"
    if domain:
        explanation += f", and no account's website is {domain}"
    else:
        explanation += " (its domain is free mail or missing, so accounts are not matched by domain)"
    return OwnerResult(explanation=explanation)


def _result(record: dict, source: str, explanation: str) -> OwnerResult:
    owner = record.get("Owner") or {}
    is_active = owner.get("IsActive")
    return OwnerResult(
        owner_sf_id=record.get("OwnerId") or "",
        owner_active=None if is_active is None else bool(is_active),
        owner_name=owner.get("Name") or "",
        owner_email=(owner.get("Email") or "").lower(),
        source=source,
        record_id=record.get("Id") or "",
        record_name=record.get("Name") or "",
        explanation=explanation,
    )


def _failure(exc: SalesforceError, *, timeout: float, elapsed: float) -> OwnerResult:
    if isinstance(exc, NeedsReconnectError):
        return OwnerResult(error="the Salesforce connection needs to be reconnected", error_kind="needs_reconnect")
    if isinstance(exc, RateLimitedError):
        return OwnerResult(error=f"Salesforce API limit reached ({exc.message})", error_kind="rate_limited")
    if isinstance(exc, RetryableError):
        timed_out = exc.code == "ROUTING_TIMEOUT" or "Timeout" in exc.message or elapsed >= timeout
        if timed_out:
            return OwnerResult(error=f"Salesforce did not answer within {timeout:g} s", error_kind="timeout")
        return OwnerResult(error=f"Salesforce is unavailable ({exc})", error_kind="unavailable")
    if isinstance(exc, PermanentError):
        return OwnerResult(error=f"Salesforce refused the lookup ({exc})", error_kind="refused")
    return OwnerResult(error=f"Salesforce error ({exc})", error_kind="error")


# ---- a time-boxed client -------------------------------------------------------------------
def _bounded_client(connection: SalesforceConnection, *, deadline: float) -> SalesforceClient:
    """A client whose calls, session refresh included, all end by `deadline`."""

    def refresh(connection_id: int, failed_access_token: str) -> str:
        access_token = _refresh_within(connection_id, failed_access_token, deadline=deadline)
        client.timeout = _remaining(deadline)  # the retry gets only what is left
        return access_token

    client = SalesforceClient(connection, token_refresher=refresh, timeout=_remaining(deadline))
    return client


def _remaining(deadline: float) -> float:
    return max(0.05, deadline - time.monotonic())


def _refresh_within(connection_id: int, failed_access_token: str, *, deadline: float) -> str:
    """A token refresh that fits in what is left of the routing bound and never waits on a
    refresh another process is doing."""
    remaining = deadline - time.monotonic()
    if remaining < MIN_REFRESH_SECONDS:
        raise RetryableError("No time was left to refresh the Salesforce session.", code="ROUTING_TIMEOUT")
    return refresh_access_token(connection_id, failed_access_token, timeout=remaining, wait=False)


def _with_cached_activity(connection: SalesforceConnection, result: OwnerResult) -> OwnerResult:
    """An owner Salesforce reports active but the org-user cache knows as deactivated is
    inactive: either source saying so is enough to not route to them."""
    if not result.owner_sf_id or result.owner_active is False:
        return result
    cached = (
        SalesforceUser.objects.filter(connection=connection, sf_id=result.owner_sf_id)
        .values_list("is_active", flat=True)
        .first()
    )
    return replace(result, owner_active=False) if cached is False else result
