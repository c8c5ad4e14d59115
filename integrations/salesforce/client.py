"""All HTTP to Salesforce: REST through simple-salesforce, OAuth through requests-oauthlib.

Nothing else in the project talks to Salesforce. Every call has a timeout, every failure
becomes one of the typed errors in errors.py, every response's Sforce-Limit-Info is read,
and a 401 INVALID_SESSION_ID triggers one serialised refresh and one retry (Salesforce sends
no token expiry, so a 401 is the only signal).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests
from django.conf import settings
from oauthlib.oauth2 import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as SimpleSalesforceError
from simple_salesforce.exceptions import SalesforceExpiredSession

from . import oauth
from .crypto import protect_token
from .errors import (
    NeedsReconnectError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
    from_response,
)
from .soql import check_statement

logger = logging.getLogger("integrations.salesforce.client")
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
# Token-endpoint errors meaning the user or the org can no longer grant access at all
# (Salesforce Help "OAuth 2.0 Authorization Errors").
GRANT_GONE_ERRORS = {"inactive_user", "inactive_org"}
# Of a /composite's 25 subrequests, at most 5 may be queries or sObject Collections (REST API
# Developer Guide, "Composite"; Collections inside /composite since API v43.0).
COMPOSITE_QUERY_OR_COLLECTION_LIMIT = 5
# A GET's request line, query string included ("API Request Limits and Allocations": URI
# length 16,384 bytes; tools report 414 "URI Too Long" past it).
URI_LIMIT_BYTES = 16_384


@dataclass
class Usage:
    used: int
    total: int

    @property
    def share(self) -> float:
        return self.used / self.total if self.total else 0.0


def _timeout() -> float:
    return settings.SALESFORCE_HTTP_TIMEOUT


def _transport_error(exc: requests.RequestException, method: str) -> RetryableError:
    """A request that got no HTTP answer. A write whose bytes may have left is 'unknown'."""
    if isinstance(exc, requests.ConnectTimeout) or method not in WRITE_METHODS:
        return RetryableError(f"Salesforce could not be reached: {type(exc).__name__}", code="CONNECTION_ERROR")
    return UnknownOutcomeError(
        f"No answer from Salesforce after the request was sent: {type(exc).__name__}", code="UNKNOWN_OUTCOME"
    )


class OAuthClient:
    """The token, revoke and identity endpoints of one login host: the environment's default
    (Production or Sandbox), or the connection's own My Domain host."""

    def __init__(self, environment: str, *, login_host: str = "", timeout: float | None = None):
        self.environment = environment
        self.login_host = login_host
        self.timeout = timeout or _timeout()

    def _endpoint(self, name: str) -> str:
        return oauth.endpoint(self.environment, name, self.login_host)

    def exchange_code(self, *, code: str, code_verifier: str) -> dict:
        session = OAuth2Session(settings.SALESFORCE_CLIENT_ID, redirect_uri=oauth.redirect_uri(), scope=oauth.SCOPES)
        return self._token_call(
            lambda: session.fetch_token(
                self._endpoint("token"),
                code=code,
                client_secret=settings.SALESFORCE_CLIENT_SECRET,
                include_client_id=True,
                code_verifier=code_verifier,
                timeout=self.timeout,
            )
        )

    def refresh(self, *, refresh_token: str) -> dict:
        """A new access token. With refresh-token rotation on, the answer's refresh_token is a
        new one and `refresh_token` is dead from now on (the caller must store the new one)."""
        grant = {"refresh_token": refresh_token, "token_type": "Bearer"}  # nosec B105  # a token type name
        session = OAuth2Session(settings.SALESFORCE_CLIENT_ID, token=grant)
        token = self._token_call(
            lambda: session.refresh_token(
                self._endpoint("token"),
                refresh_token=refresh_token,
                client_id=settings.SALESFORCE_CLIENT_ID,
                client_secret=settings.SALESFORCE_CLIENT_SECRET,
                include_client_id=True,
                timeout=self.timeout,
            )
        )
        return dict(token)

    def revoke(self, *, token: str) -> None:
        try:
            response = requests.post(self._endpoint("revoke"), data={"token": token}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _transport_error(exc, "GET") from None
        # 400 means the token was already invalid: for a disconnect that is the same as revoked.
        if response.status_code >= 500:
            raise RetryableError(
                f"Salesforce answered HTTP {response.status_code} to the revoke.", status=response.status_code
            )

    def identity(self, *, identity_url: str, access_token: str) -> dict:
        try:
            response = requests.get(
                identity_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise _transport_error(exc, "GET") from None
        if response.status_code != 200:
            raise from_response(response.status_code, _json_or_none(response))
        return response.json()

    def _token_call(self, call) -> dict:
        try:
            return protect_token(call())
        except InvalidGrantError as exc:
            raise NeedsReconnectError(exc.description or "expired access/refresh token", code="invalid_grant") from None
        except OAuth2Error as exc:
            # A deactivated user or a locked org: the grant is dead until an admin acts, so a
            # refresh must stop (needs reconnect), never be retried in a loop.
            if exc.error in GRANT_GONE_ERRORS:
                raise NeedsReconnectError(
                    exc.description or exc.error, code=exc.error, status=exc.status_code
                ) from None
            raise PermanentError(exc.description or exc.error, code=exc.error, status=exc.status_code) from None
        except requests.RequestException as exc:
            raise _transport_error(exc, "GET") from None


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


class SalesforceClient:
    """REST calls for one connection. One method per remote operation.

    `token_refresher(connection_id, failed_access_token) -> new_access_token` is called on a
    401; it must serialise refreshes per connection (see tokens.py).
    """

    def __init__(self, connection, *, token_refresher=None, timeout: float | None = None, enforce_budget: bool = True):
        self.connection = connection
        self.timeout = timeout or _timeout()
        self.enforce_budget = enforce_budget
        self.api_calls = 0
        self.usage: Usage | None = None
        if connection.api_usage_total:
            self.usage = Usage(connection.api_usage_used or 0, connection.api_usage_total)
        self._token_refresher = token_refresher
        # Called before and after every request (the drain renews its lease there, and stops
        # when the lease passed to another drain while a request was in flight).
        self.before_call: Callable[[], None] | None = None
        self.after_call: Callable[[], None] | None = None
        self._access_token = connection.access_token
        self._http = requests.Session()
        self._sf = self._build(self._access_token)

    def _build(self, access_token: str) -> Salesforce:
        return Salesforce(
            instance_url=self.connection.instance_url,
            session_id=access_token,
            version=settings.SALESFORCE_API_VERSION,
            session=self._http,
        )

    @property
    def data_path(self) -> str:
        return f"/services/data/v{settings.SALESFORCE_API_VERSION}/"

    # ---- remote operations -----------------------------------------------------------------
    def query(self, soql: str) -> list[dict]:
        """All records of a query, following nextRecordsUrl (each page is one API call).
        Raises ValueError, before sending, for a statement the GET URI limit can't carry
        (send it as /composite subrequests instead, see soql.in_chunks)."""
        check_statement(soql)
        uri = f"{self.data_path}query/?q={quote(soql, safe='')}"
        if len(uri.encode()) > URI_LIMIT_BYTES:
            raise ValueError(
                f"a GET /query URI of {len(uri.encode()):,} bytes is over Salesforce's {URI_LIMIT_BYTES:,}"
            )
        page = self._call("GET", "query/", params={"q": soql})
        return list(page.get("records", [])) + self.remaining_records(page)

    def remaining_records(self, page: dict) -> list[dict]:
        """The records after `page` of a query result, following nextRecordsUrl."""
        records: list[dict] = []
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self._call("GET", page["nextRecordsUrl"].removeprefix(self.data_path))
            records.extend(page.get("records", []))
        return records

    def composite(self, subrequests: list[dict], *, all_or_none: bool = False) -> list[dict]:
        """POST /composite (one API call). Returns compositeResponse in order. Raises
        ValueError, before sending, past Salesforce's limits (see composite_batches)."""
        if len(subrequests) > COMPOSITE_LIMIT:
            raise ValueError(f"a composite request takes at most {COMPOSITE_LIMIT} subrequests")
        heavy = sum(1 for sub in subrequests if self.is_query_or_collection(sub))
        if heavy > COMPOSITE_QUERY_OR_COLLECTION_LIMIT:
            raise ValueError(
                f"a composite request takes at most {COMPOSITE_QUERY_OR_COLLECTION_LIMIT} query or sObject Collections subrequests"
            )
        body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        return self._call("POST", "composite/", json=body)["compositeResponse"]

    def composite_batches(self, subrequests: list[dict]) -> list[list[dict]]:
        """Split subrequests, in order, into as few /composite calls as Salesforce's limits
        allow (25 subrequests, of which 5 queries or Collections)."""
        batches: list[list[dict]] = []
        heavy = 0
        for sub in subrequests:
            weight = 1 if self.is_query_or_collection(sub) else 0
            if (
                not batches
                or len(batches[-1]) >= COMPOSITE_LIMIT
                or heavy + weight > COMPOSITE_QUERY_OR_COLLECTION_LIMIT
            ):
                batches.append([])
                heavy = 0
            batches[-1].append(sub)
            heavy += weight
        return batches

    def is_query_or_collection(self, subrequest: dict) -> bool:
        path = subrequest["url"].removeprefix(self.data_path)
        return path.startswith(("query", "queryAll", "composite/sobjects"))

    def collection_subrequest(self, reference_id: str, method: str, sobject: str, records: list[dict]) -> dict:
        """An sObject Collections create (POST) or update (PATCH) of up to 200 records, as a
        /composite subrequest; its body is the list of SaveResults in input order."""
        self._check_collection(records)
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return {
            "method": method,
            "referenceId": reference_id,
            "url": f"{self.data_path}composite/sobjects",
            "body": body,
        }

    def delete_subrequest(self, reference_id: str, ids: list[str]) -> dict:
        self._check_collection(ids)
        return {
            "method": "DELETE",
            "referenceId": reference_id,
            "url": f"{self.data_path}composite/sobjects?ids={','.join(ids)}&allOrNone=false",
        }

    def query_subrequest(self, reference_id: str, soql: str) -> dict:
        check_statement(soql)
        return {"method": "GET", "referenceId": reference_id, "url": f"{self.data_path}query/?q={quote(soql, safe='')}"}

    def describe_subrequest(self, reference_id: str, sobject: str) -> dict:
        return {"method": "GET", "referenceId": reference_id, "url": f"{self.data_path}sobjects/{sobject}/describe/"}

    def create_records(self, sobject: str, records: list[dict]) -> list[dict]:
        """POST /composite/sobjects (allOrNone=false): SaveResults in input order."""
        self._check_collection(records)
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return self._call("POST", "composite/sobjects/", json=body)

    def update_records(self, sobject: str, records: list[dict]) -> list[dict]:
        self._check_collection(records)
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return self._call("PATCH", "composite/sobjects/", json=body)

    def delete_records(self, ids: list[str]) -> list[dict]:
        self._check_collection(ids)
        return self._call("DELETE", "composite/sobjects/", params={"ids": ",".join(ids), "allOrNone": "false"})

    def limits(self) -> dict:
        return self._call("GET", "limits/", budgeted=False)

    def fetch_blob(self, sobject: str, record_id: str, field: str) -> bytes:
        """GET a base64 field's bytes (e.g. ContentNote Content: SOQL and REST return only its URL)."""
        return self._call("GET", f"sobjects/{sobject}/{record_id}/{field}", raw=True)

    # ---- plumbing --------------------------------------------------------------------------
    @staticmethod
    def _check_collection(items: list) -> None:
        if not items or len(items) > COLLECTION_LIMIT:
            raise ValueError(f"sObject Collections take 1 to {COLLECTION_LIMIT} records")

    def _check_budget(self) -> None:
        if not self.enforce_budget or self.usage is None:
            return
        share = settings.SALESFORCE_API_LIMIT_SHARE
        if self.usage.share >= share:
            raise RateLimitedError(
                f"Salesforce API usage is at {self.usage.share:.0%} of the org's daily allotment "
                f"({self.usage.used:,} of {self.usage.total:,}); Workestra stops at {share:.0%} "
                "so the org keeps its remaining calls.",
                code="API_BUDGET_REACHED",
            )

    def _call(self, method: str, path: str, *, budgeted: bool = True, **kwargs):
        if budgeted:
            self._check_budget()
        try:
            return self._send(method, path, **kwargs)
        except SalesforceExpiredSession:
            if self._token_refresher is None:
                raise NeedsReconnectError("Session expired or invalid", code="INVALID_SESSION_ID", status=401) from None
            self._access_token = self._token_refresher(self.connection.pk, self._access_token)
            self._sf = self._build(self._access_token)
            try:
                return self._send(method, path, **kwargs)
            except SalesforceExpiredSession:
                # The refresh token still works (invalid_grant would have said otherwise), so a
                # token refused right after it was issued or picked up (it expired again in
                # between, or was already stale) is retried later, not a reason to reconnect.
                raise RetryableError(
                    "Salesforce refused the session right after it was refreshed; trying again later.",
                    code="INVALID_SESSION_ID",
                    status=401,
                ) from None

    def _send(self, method: str, path: str, **kwargs):
        if self.before_call is not None:
            self.before_call()
        started = time.monotonic()
        self.api_calls += 1
        raw = kwargs.pop("raw", False)
        try:
            if raw:  # not JSON: simple-salesforce's restful() would try to parse it
                result = self._sf._call_salesforce(
                    method, self._sf.base_url + path, name=path, timeout=self.timeout, **kwargs
                ).content
            else:
                result = self._sf.restful(path, method=method, timeout=self.timeout, **kwargs)
        except SalesforceExpiredSession:
            raise
        except SimpleSalesforceError as exc:
            raise from_response(exc.status, exc.content) from None
        except requests.RequestException as exc:
            raise _transport_error(exc, method) from None
        finally:
            self._record_usage()
            logger.info(
                "salesforce.call",
                extra={
                    "method": method,
                    "path": path.split("?")[0],
                    "connection_id": self.connection.pk,
                    "duration_ms": int((time.monotonic() - started) * 1000),
                },
            )
            if self.after_call is not None:
                self.after_call()
        return result

    def _record_usage(self) -> None:
        usage = self._sf.api_usage.get("api-usage")
        if usage is not None:
            self.usage = Usage(usage.used, usage.total)
