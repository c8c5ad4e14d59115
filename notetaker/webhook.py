"""The notetaker's recap webhook: its signature and its body, checked before anything is stored.

The notetaker signs the raw body: `X-Workestra-Signature: sha256=<hex HMAC-SHA256(body)>`
keyed with NOTETAKER_WEBHOOK_SECRET. Every failure is a WebhookError carrying the HTTP
status and a message that says what is wrong.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date

from .models import ACTION_ITEMS_MAX, ACTION_TEXT_MAX_CHARS, ASSIGNEE_MAX_CHARS, SUMMARY_MAX_CHARS

SIGNATURE_HEADER = "X-Workestra-Signature"
SIGNATURE_PREFIX = "sha256="
KEY_MAX_CHARS = 200
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SIGNATURE_HEX = re.compile(r"[0-9a-f]{64}")


class WebhookError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ActionItemData:
    text: str
    assignee: str = ""
    due_date: date | None = None


@dataclass(frozen=True)
class RecapPayload:
    booking_uid: str
    summary: str
    action_items: tuple[ActionItemData, ...]
    recap_id: str = ""


def sign(body: bytes, secret: str) -> str:
    """The header value the notetaker sends for `body` (also what the tests and the README use)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> None:
    """Raises WebhookError: 503 when no secret is configured (never accept unsigned),
    401 when the header is missing or not shaped sha256=<64 hex digits> (the message says
    which), 403 when it does not match."""
    if not secret:
        raise WebhookError(503, "Recap webhook is not configured: NOTETAKER_WEBHOOK_SECRET is not set.")
    if not header:
        raise WebhookError(401, _missing_header_message(body))
    problem = _signature_shape_problem(header.strip())
    if problem:
        raise WebhookError(401, f"Malformed {SIGNATURE_HEADER} header: {problem}")
    if not hmac.compare_digest(header.strip().encode(), sign(body, secret).encode()):
        raise WebhookError(403, f"Invalid {SIGNATURE_HEADER}: expected sha256=<hex HMAC-SHA256 of the raw body>.")


def _missing_header_message(body: bytes) -> str:
    if body:
        return f"Missing {SIGNATURE_HEADER} header."
    # A header value holding a line break (a shell variable with two lines) ends the request's
    # headers early: the server then sees neither the signature nor Content-Length, so no body.
    return (
        f"Missing {SIGNATURE_HEADER} header, and the body is empty: the request's headers ended early. "
        "A header value sent before them probably contains a line break "
        "(for example a shell variable such as BOOKING_UID holding two lines)."
    )


def _signature_shape_problem(value: str) -> str:
    if any(char in value for char in "\r\n"):
        return "it contains a line break; send one line, sha256=<64 hex digits>."
    if not value.startswith(SIGNATURE_PREFIX):
        return f"it must start with {SIGNATURE_PREFIX!r}, then 64 hex digits."
    digest = value[len(SIGNATURE_PREFIX) :]
    if not SIGNATURE_HEX.fullmatch(digest):
        return f"after {SIGNATURE_PREFIX!r} come {len(digest)} characters; expected 64 hex digits (0-9, a-f)."
    return ""


def parse(body: bytes) -> RecapPayload:
    """The delivery's fields, or WebhookError(400) naming the first problem."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookError(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise WebhookError(400, "The body must be a JSON object.")
    booking_uid = data.get("booking_uid")
    if not isinstance(booking_uid, str) or not booking_uid.strip():
        raise WebhookError(400, "booking_uid is required and must be a string.")
    if "summary" not in data:
        raise WebhookError(400, "summary is required.")
    try:
        summary = clean_summary(data["summary"])
        items = clean_action_items(data.get("action_items", []))
        recap_id = _clean_recap_id(data.get("recap_id"))
    except ValueError as error:
        raise WebhookError(400, str(error)) from None
    return RecapPayload(booking_uid.strip(), summary, items, recap_id)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def delivery_key(*, idempotency_key: str | None, payload: RecapPayload, body_hash: str) -> str:
    """What makes two deliveries the same delivery (see RecapDelivery.key)."""
    if idempotency_key:
        if len(idempotency_key) > KEY_MAX_CHARS:
            raise WebhookError(400, f"Idempotency-Key must be at most {KEY_MAX_CHARS} characters.")
        return f"key:{idempotency_key}"
    if payload.recap_id:
        return f"recap_id:{payload.recap_id}:{body_hash}"
    return f"body:{body_hash}"


# ---- field rules, shared with the edit form -----------------------------------------------
def clean_summary(value) -> str:
    if not isinstance(value, str):
        raise ValueError("summary must be a string.")
    if not value.strip():
        raise ValueError("summary must not be empty.")
    if len(value) > SUMMARY_MAX_CHARS:
        raise ValueError(f"summary is {len(value):,} characters; the limit is {SUMMARY_MAX_CHARS:,}.")
    return _storable(value, "summary")


def clean_action_items(value) -> tuple[ActionItemData, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("action_items must be a list.")
    if len(value) > ACTION_ITEMS_MAX:
        raise ValueError(f"action_items has {len(value)} items; the limit is {ACTION_ITEMS_MAX}.")
    return tuple(_clean_action_item(item, f"action_items[{n}]") for n, item in enumerate(value))


def _clean_action_item(item, where: str) -> ActionItemData:
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object with text, assignee and due_date.")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}.text is required and must be a non-empty string.")
    if len(text) > ACTION_TEXT_MAX_CHARS:
        raise ValueError(f"{where}.text is longer than {ACTION_TEXT_MAX_CHARS:,} characters.")
    assignee = item.get("assignee") or ""
    if not isinstance(assignee, str):
        raise ValueError(f"{where}.assignee must be a string or null.")
    if len(assignee) > ASSIGNEE_MAX_CHARS:
        raise ValueError(f"{where}.assignee is longer than {ASSIGNEE_MAX_CHARS} characters.")
    return ActionItemData(
        _storable(text.strip(), f"{where}.text"),
        _storable(assignee.strip(), f"{where}.assignee"),
        _clean_due_date(item.get("due_date"), where),
    )


def _clean_due_date(value, where: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}.due_date must be a date as YYYY-MM-DD, or null.")
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}.due_date {value[:40]!r} is not a date as YYYY-MM-DD.") from None


def _clean_recap_id(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("recap_id must be a string or an integer.")
    value = str(value)
    if len(value) > KEY_MAX_CHARS:
        raise ValueError(f"recap_id must be at most {KEY_MAX_CHARS} characters.")
    return _storable(value, "recap_id")


def _storable(value: str, where: str) -> str:
    """PostgreSQL refuses NUL characters and lone surrogates (JSON can carry both)."""
    if "\x00" in value:
        raise ValueError(f"{where} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} contains an invalid unicode character (a lone surrogate).") from None
    return value
