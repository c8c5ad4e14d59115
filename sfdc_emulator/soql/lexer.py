"""SOQL tokenizer.

String literals follow "Quoted String Escape Sequences"
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm):
``\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX``, and ``\\%`` ``\\_`` which are only meaningful
inside LIKE; any other backslash sequence is a MALFORMED_QUERY.
"""

import re
from dataclasses import dataclass, field

from ..errors import SalesforceError

_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT])")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
MAX_STRING_LITERAL = 4000  # "4,000 characters for each string within a WHERE clause"
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", ".": "DOT", ":": "COLON"}


@dataclass
class Token:
    kind: str  # IDENT STRING NUMBER DATETIME DATE OP LPAREN RPAREN COMMA DOT COLON EOF
    text: str
    pos: int
    value: object = None
    # positions (in ``value``) of % and _ that were escaped, so LIKE treats them literally
    literal_wildcards: set = field(default_factory=set)

    def is_keyword(self, *words):
        return self.kind == "IDENT" and self.text.upper() in words


def query_error(query, pos, message, code="MALFORMED_QUERY"):
    """Salesforce's query error format: the line, a caret, then Row/Column and the message."""
    line_start = query.rfind("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end != -1 else len(query)]
    row = query.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    text = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"
    return SalesforceError(400, code, text)


def tokenize(query):
    tokens, pos = [], 0
    while pos < len(query):
        char = query[pos]
        if char.isspace():
            pos += 1
        elif char == "'":
            token = _string(query, pos)
            tokens.append(token)
            pos += len(token.text)
        else:
            token = _simple(query, pos)
            tokens.append(token)
            pos += len(token.text)
    tokens.append(Token("EOF", "", len(query)))
    return tokens


def _simple(query, pos):
    for regex, kind in ((_DATETIME_RE, "DATETIME"), (_DATE_RE, "DATE"), (_NUMBER_RE, "NUMBER"), (_IDENT_RE, "IDENT")):
        match = regex.match(query, pos)
        if match:
            return Token(kind, match.group(0), pos, match.group(0))
    for operator in _OPERATORS:
        if query.startswith(operator, pos):
            return Token("OP", operator, pos, operator)
    if query[pos] in _PUNCTUATION:
        return Token(_PUNCTUATION[query[pos]], query[pos], pos)
    raise query_error(query, pos, f"unexpected token: '{query[pos]}'")


def _string(query, start):
    chars, literal_wildcards, pos = [], set(), start + 1
    while pos < len(query):
        char = query[pos]
        if char == "'":
            text = query[start : pos + 1]
            if len(chars) > MAX_STRING_LITERAL:
                # The limit is documented; the message wording is a guess.
                raise query_error(
                    query,
                    start,
                    f"String literal is too long: {len(chars)} characters (at most {MAX_STRING_LITERAL} are allowed)",
                )
            return Token("STRING", text, start, "".join(chars), literal_wildcards)
        if char != "\\":
            chars.append(char)
            pos += 1
            continue
        escape = query[pos + 1 : pos + 2]
        if escape in _SIMPLE_ESCAPES:
            chars.append(_SIMPLE_ESCAPES[escape])
            pos += 2
        elif escape in ("%", "_"):
            literal_wildcards.add(len(chars))
            chars.append(escape)
            pos += 2
        elif escape == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", query[pos + 2 : pos + 6]):
            chars.append(chr(int(query[pos + 2 : pos + 6], 16)))
            pos += 6
        else:
            raise query_error(
                query,
                start,
                f"Invalid string literal '{query[start + 1 : pos + 2]}'. Illegal "
                f"character sequence '\\{escape}' in string literal.",
            )
    raise query_error(query, start, "unexpected token: <EOF>: missing closing quote")
