"""Field values on the wire: Salesforce's datetime format and JSON type coercion.

Salesforce serialises datetimes as ``2026-11-30T15:00:00.000+0000`` (always UTC)
and dates as ``2026-11-30``; it accepts ISO 8601 input with ``Z`` or an offset.
Values are stored in that serialised form, so UTC datetimes compare as strings.
"""

import base64
import binascii
import re
from datetime import UTC, date, datetime, timedelta, timezone

from .errors import json_parser_error

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TEXT_TYPES = ("string", "textarea", "email", "url", "phone", "picklist", "combobox")


def format_datetime(moment):
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def now():
    return format_datetime(datetime.now(UTC))


def parse_datetime(text, assume_utc=True):
    """Parse an ISO 8601 datetime (``Z``, ``+01:00`` or ``+0100``); None if not one."""
    match = _DATETIME_RE.match(text or "")
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset is None and not assume_utc:
        return None
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=_zone(offset),
        )
    except ValueError:
        return None
    return moment.astimezone(UTC)


def parse_date(text):
    match = _DATE_RE.match(text or "")
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def to_datetime(stored):
    """A stored datetime string back to an aware datetime."""
    return parse_datetime(stored) if stored else None


def add_minutes(stored, minutes):
    return format_datetime(to_datetime(stored) + timedelta(minutes=minutes))


def minutes_between(start, end):
    return int((to_datetime(end) - to_datetime(start)).total_seconds() // 60)


def coerce(field, value):
    """Convert a JSON request value to the stored form for ``field``.

    Raises SalesforceError(JSON_PARSER_ERROR) the way Salesforce's deserializer does.
    """
    if value is None or (value == "" and field.type != "boolean"):
        return None
    if isinstance(value, (dict, list)):
        token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
        raise _cannot_deserialize(field, token, "{" if isinstance(value, dict) else "[")
    converter = _CONVERTERS.get(field.type, _to_text)
    return converter(field, value)


def _to_text(field, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_int(field, value):
    if isinstance(value, bool):
        raise _cannot_deserialize(field, "VALUE_" + str(value).upper(), str(value).lower())
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _cannot_deserialize(field, "VALUE_STRING", value) from None
    if number != int(number):
        raise _cannot_deserialize(field, "VALUE_NUMBER_FLOAT", value)
    return int(number)


def _to_number(field, value):
    if isinstance(value, bool):
        raise _cannot_deserialize(field, "VALUE_" + str(value).upper(), str(value).lower())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _cannot_deserialize(field, "VALUE_STRING", value) from None


def _to_bool(field, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _cannot_deserialize(field, "VALUE_STRING", value)


def _to_datetime(field, value):
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise _cannot_deserialize(field, "VALUE_STRING", value)
    return format_datetime(moment)


def _to_date(field, value):
    text = value if isinstance(value, str) else ""
    parsed = parse_date(text) or (parse_datetime(text) or None)
    if parsed is None:
        raise _cannot_deserialize(field, "VALUE_STRING", value)
    return parsed.isoformat()[:10]


def _to_base64(field, value):
    """A base64 field (ContentNote.Content) takes base64 text; anything else is refused."""
    if not isinstance(value, str):
        raise _cannot_deserialize(field, "VALUE_NUMBER_INT", value)
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _cannot_deserialize(field, "VALUE_STRING", value[:40]) from None
    return value


def _to_reference(field, value):
    if not isinstance(value, str):
        raise _cannot_deserialize(field, "VALUE_NUMBER_INT", value)
    return value


_CONVERTERS = {
    "int": _to_int,
    "double": _to_number,
    "currency": _to_number,
    "boolean": _to_bool,
    "datetime": _to_datetime,
    "date": _to_date,
    "id": _to_reference,
    "reference": _to_reference,
    "base64": _to_base64,
}

_JAVA_TYPES = {
    "int": "int",
    "double": "double",
    "currency": "double",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
    "base64": "base64",
}


def _cannot_deserialize(field, token, value):
    java_type = _JAVA_TYPES.get(field.type, "string")
    return json_parser_error(
        f"Cannot deserialize instance of {java_type} from {token} value {value} "
        "or request may be missing a required field"
    )


def _zone(offset):
    if offset in (None, "Z"):
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
