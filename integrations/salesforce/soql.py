"""SOQL is built only here, only through simple-salesforce's escaping formatter.

`format_soql("... WHERE Email IN {}", emails)` quotes and escapes each value (', ", \\, newlines,
unicode); `{:like}` additionally escapes % and _ for LIKE patterns. Never build SOQL with
f-strings or % formatting: a quote in an email address is all an injection needs.
"""

from datetime import datetime

from simple_salesforce.format import format_soql

__all__ = ["soql", "like_contains", "datetime_literal", "in_chunks", "check_statement"]

# "SOQL and SOSL Limits": a statement of at most 100,000 characters, and at most 4,000
# characters for each string in a WHERE clause.
STATEMENT_MAX_CHARS = 100_000
STRING_LITERAL_MAX_CHARS = 4_000


def soql(template: str, *args, **kwargs) -> str:
    return format_soql(template, *args, **kwargs)


def like_contains(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, with the value's own % and _ escaped."""
    return "'%" + format_soql("{:like}", value) + "%'"


def datetime_literal(value: datetime) -> str:
    return format_soql("{}", value)


def check_statement(statement: str) -> None:
    """Raise ValueError for a statement Salesforce would refuse for its length."""
    if len(statement) > STATEMENT_MAX_CHARS:
        raise ValueError(
            f"a SOQL statement of {len(statement):,} characters is over Salesforce's {STATEMENT_MAX_CHARS:,}"
        )


def soql_template(text: str) -> str:
    """Marks a SOQL template kept in a constant for in_chunks(): the text is returned as it is,
    and the static check (tests/security/test_security_static.py) accepts SOQL text only here,
    in soql() and in in_chunks(), whose placeholders are always filled escaped."""
    return text


def in_chunks(template: str, values: list, *, max_chars: int | None = None, **kwargs) -> list[str]:
    """The statements that together ask `template` for every value: `{values}` in the template
    becomes an IN list, filled greedily so each statement stays within `max_chars` (the other
    placeholders are formatted as soql() does). Raises ValueError for a value longer than a
    SOQL string literal may be; nothing is sent for an empty `values`."""
    max_chars = max_chars or STATEMENT_MAX_CHARS
    sentinel = "\x00"
    head, tail = soql(template.replace("{values}", sentinel), **kwargs).split(sentinel)
    budget = max_chars - len(head) - len(tail) - 2  # the parentheses
    statements: list[str] = []
    current: list[str] = []
    used = 0
    for value in values:
        if isinstance(value, str) and len(value) > STRING_LITERAL_MAX_CHARS:
            raise ValueError(f"a SOQL string literal is limited to {STRING_LITERAL_MAX_CHARS:,} characters")
        literal = format_soql("{}", value)
        cost = len(literal) + (1 if current else 0)
        if current and used + cost > budget:
            statements.append(f"{head}({','.join(current)}){tail}")
            current, used, cost = [], 0, len(literal)
        if cost > budget:
            raise ValueError("one value does not fit in a SOQL statement")
        current.append(literal)
        used += cost
    if current:
        statements.append(f"{head}({','.join(current)}){tail}")
    return statements
