"""SOQL is built only here, only through simple-salesforce's escaping formatter.

`format_soql("... WHERE Email IN {}", emails)` quotes and escapes each value (', ", \\, newlines,
unicode); `{:like}` additionally escapes % and _ for LIKE patterns. Never build SOQL with
f-strings or % formatting: a quote in an email address is all an injection needs.
"""
from datetime import datetime

from simple_salesforce.format import format_soql

__all__ = ["soql", "like_contains", "datetime_literal"]


def soql(template: str, *args, **kwargs) -> str:
    return format_soql(template, *args, **kwargs)


def like_contains(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, with the value's own % and _ escaped."""
    return "'%" + format_soql("{:like}", value) + "%'"


def datetime_literal(value: datetime) -> str:
    return format_soql("{}", value)
