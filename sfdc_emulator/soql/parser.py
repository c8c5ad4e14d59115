"""Recursive-descent parser for the SOQL subset the emulator supports.

    query      := SELECT (COUNT '(' ')' | field (',' field)*) FROM ident
                  [WHERE condition] [ORDER BY order (',' order)*] [LIMIT n] [OFFSET n]
    condition  := unary ((AND unary)* | (OR unary)*)      -- SOQL needs parentheses to mix
    unary      := NOT unary | '(' condition ')' | comparison
    comparison := field (op value | [NOT] IN '(' (query | value (',' value)*) ')' | LIKE string)
    value      := string | number | true | false | null | datetime | date | DATE_LITERAL[:n]

Anything else (GROUP BY, aggregates, child subqueries, TYPEOF, bind variables...) is a
MALFORMED_QUERY, as an unsupported token would be in Salesforce.
"""

from dataclasses import dataclass, field

from .lexer import query_error, tokenize

DATE_LITERALS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS")
_N_DATE_LITERALS = ("LAST_N_DAYS", "NEXT_N_DAYS")


@dataclass
class FieldRef:
    path: list
    pos: int


@dataclass
class Value:
    kind: str  # string number boolean null datetime date date_literal
    value: object
    pos: int
    literal_wildcards: set = field(default_factory=set)


@dataclass
class Comparison:
    field: FieldRef
    op: str  # = != < > <= >= LIKE IN NOT IN
    value: object  # Value, list of Value, or Query (semi-join)
    pos: int


@dataclass
class BoolOp:
    op: str  # AND / OR
    items: list


@dataclass
class Not:
    item: object


@dataclass
class Order:
    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    sobject: str
    sobject_pos: int
    fields: list
    count: bool = False
    where: object = None
    order: list = field(default_factory=list)
    limit: int = None
    offset: int = None


def parse(text):
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------

    @property
    def token(self):
        return self.tokens[self.index]

    def advance(self):
        token = self.token
        self.index += 1
        return token

    def error(self, token=None, message=None):
        token = token or self.token
        shown = token.text if token.kind != "EOF" else "<EOF>"
        return query_error(self.text, token.pos, message or f"unexpected token: '{shown}'")

    def expect_keyword(self, word):
        if not self.token.is_keyword(word):
            raise self.error()
        return self.advance()

    def expect(self, kind):
        if self.token.kind != kind:
            raise self.error()
        return self.advance()

    def accept_keyword(self, *words):
        if self.token.is_keyword(*words):
            return self.advance()
        return None

    # -- grammar -------------------------------------------------------------------------

    def parse(self):
        query = self.query()
        if self.token.kind != "EOF":
            raise self.error()
        return query

    def query(self):
        self.expect_keyword("SELECT")
        count, fields = False, []
        if self.token.is_keyword("COUNT") and self.tokens[self.index + 1].kind == "LPAREN":
            self.advance(), self.advance()
            self.expect("RPAREN")
            count = True
        else:
            fields.append(self.field_ref())
            while self.token.kind == "COMMA":
                self.advance()
                fields.append(self.field_ref())
        self.expect_keyword("FROM")
        sobject = self.expect("IDENT")
        query = Query(sobject.text, sobject.pos, fields, count)
        if self.accept_keyword("WHERE"):
            query.where = self.condition()
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            query.order.append(self.order())
            while self.token.kind == "COMMA":
                self.advance()
                query.order.append(self.order())
        if self.accept_keyword("LIMIT"):
            query.limit = self.non_negative_int()
        if self.accept_keyword("OFFSET"):
            query.offset = self.non_negative_int()
        return query

    def field_ref(self):
        first = self.expect("IDENT")
        if first.is_keyword("SELECT", "FROM", "WHERE") or self.token.kind == "LPAREN":
            raise self.error(first)
        path = [first.text]
        while self.token.kind == "DOT":
            self.advance()
            path.append(self.expect("IDENT").text)
        return FieldRef(path, first.pos)

    def order(self):
        ref = self.field_ref()
        descending = bool(self.accept_keyword("DESC"))
        if not descending:
            self.accept_keyword("ASC")
        nulls_first = not descending
        if self.accept_keyword("NULLS"):
            word = self.token
            if not word.is_keyword("FIRST", "LAST"):
                raise self.error()
            self.advance()
            nulls_first = word.text.upper() == "FIRST"
        return Order(ref, descending, nulls_first)

    def non_negative_int(self):
        token = self.expect("NUMBER")
        if "." in token.text or token.text.startswith("-"):
            raise self.error(token)
        return int(token.text)

    def condition(self):
        items = [self.unary()]
        joiner = None
        while self.token.is_keyword("AND", "OR"):
            word = self.token.text.upper()
            if joiner and word != joiner:
                # SOQL refuses "a AND b OR c": parentheses are required to mix them.
                raise self.error()
            joiner = word
            self.advance()
            items.append(self.unary())
        return BoolOp(joiner, items) if joiner else items[0]

    def unary(self):
        if self.accept_keyword("NOT"):
            return Not(self.unary())
        if self.token.kind == "LPAREN":
            self.advance()
            inner = self.condition()
            self.expect("RPAREN")
            return inner
        return self.comparison()

    def comparison(self):
        ref = self.field_ref()
        token = self.token
        if token.kind == "OP":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(ref, op, self.value(), token.pos)
        if token.is_keyword("LIKE"):
            self.advance()
            value = self.value()
            if value.kind != "string":
                raise query_error(self.text, value.pos, "Invalid LIKE pattern: a string literal is required")
            return Comparison(ref, "LIKE", value, token.pos)
        negated = bool(self.accept_keyword("NOT"))
        if self.token.is_keyword("IN"):
            self.advance()
            return Comparison(ref, "NOT IN" if negated else "IN", self.in_list(), token.pos)
        raise self.error()

    def in_list(self):
        self.expect("LPAREN")
        if self.token.is_keyword("SELECT"):
            subquery = self.query()
            self.expect("RPAREN")
            return subquery
        values = [self.value()]
        while self.token.kind == "COMMA":
            self.advance()
            values.append(self.value())
        self.expect("RPAREN")
        return values

    def value(self):
        token = self.advance()
        if token.kind == "STRING":
            return Value("string", token.value, token.pos, token.literal_wildcards)
        if token.kind == "NUMBER":
            return Value("number", float(token.text), token.pos)
        if token.kind in ("DATETIME", "DATE"):
            return Value(token.kind.lower(), token.text, token.pos)
        if token.is_keyword("TRUE", "FALSE"):
            return Value("boolean", token.text.upper() == "TRUE", token.pos)
        if token.is_keyword("NULL"):
            return Value("null", None, token.pos)
        if token.is_keyword(*DATE_LITERALS):
            name, amount = token.text.upper(), None
            if name in _N_DATE_LITERALS:
                self.expect("COLON")
                amount = self.non_negative_int()
            return Value("date_literal", (name, amount), token.pos)
        raise self.error(token)
