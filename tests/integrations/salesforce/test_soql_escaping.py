"""SOQL is built only through the escaping formatter."""

import re
from pathlib import Path

import pytest

from integrations.salesforce.soql import like_contains, soql

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("o'brien@example.com", r"'o\'brien@example.com'"),
        ('say"hi"@example.com', r"'say\"hi\"@example.com'"),
        ("back\\slash@example.com", r"'back\\slash@example.com'"),
        ("100%_off@example.com", "'100%_off@example.com'"),  # % and _ are literal outside LIKE
        ("zoë@例え.jp", "'zoë@例え.jp'"),
        ("x' OR Email != '", r"'x\' OR Email != \''"),
        ("line\nbreak", r"'line\nbreak'"),
    ],
)
def test_values_are_quoted_and_escaped(value, expected):
    assert soql("SELECT Id FROM Contact WHERE Email = {}", value) == f"SELECT Id FROM Contact WHERE Email = {expected}"


def test_lists_are_escaped_element_by_element():
    assert soql("WHERE Email IN {}", ["a'b@x.com", "c\\d@y.com"]) == r"WHERE Email IN ('a\'b@x.com','c\\d@y.com')"


def test_like_patterns_escape_wildcards_too():
    assert like_contains("50%_off'x.com") == r"'%50\%\_off\'x.com%'"


def test_no_soql_is_built_outside_the_formatter():
    """Every module that mentions a SOQL SELECT hands it to soql() (or soql.in_chunks(), which
    formats through the same formatter); none formats one itself."""
    offenders = []
    for path in [*ROOT.glob("integrations/**/*.py"), *ROOT.glob("routing/**/*.py"), *ROOT.glob("notetaker/**/*.py")]:
        text = path.read_text()
        for match in re.finditer(r"""(f["']|["'])\s*SELECT\b""", text):
            if match.group(1).startswith("f"):
                offenders.append(f"{path}: f-string SOQL")
        if re.search(r"""SELECT[^\n]*["']\s*(%|\.format\()""", text):
            offenders.append(f"{path}: %-formatted SOQL")
        if (
            re.search(r"SELECT\s+[A-Za-z][\w.,() ]*\s+FROM\s+\w+", text)
            and path.name != "soql.py"
            and not re.search(r"\b(soql|in_chunks)\(", text)
        ):
            offenders.append(f"{path}: SOQL without soql()")
    assert offenders == []
