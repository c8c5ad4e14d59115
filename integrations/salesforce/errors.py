"""Typed Salesforce errors. Tasks branch on the type, never on status codes."""


class SalesforceError(Exception):
    kind = "error"

    def __init__(self, message: str, *, code: str = "", status: int | None = None, fields: list | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or []

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class RetryableError(SalesforceError):
    """5xx, timeouts, connection errors: try again later with backoff."""

    kind = "retryable"


class UnknownOutcomeError(RetryableError):
    """A write was sent and no answer came back: it may have been applied. Reconcile first."""

    kind = "unknown_outcome"


class RateLimitedError(SalesforceError):
    """REQUEST_LIMIT_EXCEEDED, or usage above the configured share of the daily allotment."""

    kind = "rate_limited"


class NeedsReconnectError(SalesforceError):
    """The refresh token is no longer accepted (revoked, expired, user deactivated)."""

    kind = "needs_reconnect"


class PermanentError(SalesforceError):
    """Salesforce refused the request itself (validation, permissions): retrying won't help."""

    kind = "permanent"


class NotConnectedError(SalesforceError):
    kind = "not_connected"


RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
# Per-record codes in sObject Collections results that a later retry can fix.
RETRYABLE_RECORD_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"}


def from_response(status: int, body) -> SalesforceError:
    """Build the typed error for a Salesforce REST error response (a JSON list of errors)."""
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    if not first and isinstance(body, dict):
        first = body
    code = first.get("errorCode") or first.get("statusCode") or first.get("error") or ""
    message = first.get("message") or first.get("error_description") or f"Salesforce answered HTTP {status}."
    fields = first.get("fields") or []
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimitedError(message, code=code, status=status, fields=fields)
    if status in RETRYABLE_STATUSES:
        return RetryableError(message, code=code or "SERVER_UNAVAILABLE", status=status, fields=fields)
    if status == 401:
        return NeedsReconnectError(message, code=code or "INVALID_SESSION_ID", status=status)
    return PermanentError(message, code=code, status=status, fields=fields)


def from_record_errors(errors: list[dict]) -> SalesforceError:
    """Typed error for one failed record of an sObject Collections call."""
    first = errors[0] if errors else {}
    code = first.get("statusCode") or first.get("errorCode") or ""
    message = first.get("message") or "Salesforce rejected the record."
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimitedError(message, code=code)
    if code in RETRYABLE_RECORD_CODES:
        return RetryableError(message, code=code, fields=first.get("fields"))
    return PermanentError(message, code=code, fields=first.get("fields"))
