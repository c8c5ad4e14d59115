"""Evaluate a parsed SOQL query against the store.

Semantics follow the SOQL reference: string comparisons (=, !=, IN, LIKE) are
case-insensitive; ``!=`` and ``NOT IN`` match null values; ASC sorts put nulls first
and DESC last unless NULLS FIRST/LAST says otherwise; relationship fields come back
as nested objects with ``attributes`` (type ``Name`` for polymorphic ones) or null.
Date literals (TODAY, LAST_N_DAYS:n, ...) are evaluated in UTC.
"""

import re
from datetime import UTC, datetime, time, timedelta

from .. import content, ids, schema, values
from ..records import attributes, can
from .lexer import query_error
from .parser import BoolOp, Comparison, Not, Query

_TEXT, _ID, _NUMBER, _BOOL, _DATETIME, _DATE = "text", "id", "number", "bool", "datetime", "date"
_KINDS = {
    "id": _ID,
    "reference": _ID,
    "int": _NUMBER,
    "double": _NUMBER,
    "currency": _NUMBER,
    "boolean": _BOOL,
    "datetime": _DATETIME,
    "date": _DATE,
}
_TYPE_WORDS = {_TEXT: "string", _ID: "id", _NUMBER: "double", _BOOL: "boolean", _DATETIME: "dateTime", _DATE: "date"}
_NAME_FIELD_TYPES = {"Id": "id", "IsActive": "boolean"}
_NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a "
    "custom field, be sure to append the '__c' after the custom field name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)


class Path:
    """A resolved field path: reference hops, then the final field."""

    def __init__(self, hops, final, name_object):
        self.hops = hops
        self.final = final
        self.name_object = name_object  # final field read from a polymorphic "Name" target

    @property
    def kind(self):
        return _KINDS.get(self.final.type, _TEXT)


class Executor:
    def __init__(self, store, actor, text, version, include_deleted):
        self.store = store
        self.actor = actor
        self.text = text
        self.version = version
        self.include_deleted = include_deleted
        self._cache = {}

    def run(self, query):
        """Return (total_size, records) for a top-level query."""
        sobject, rows = self._matching_rows(query)
        if query.count:
            return len(rows), []
        paths = self._select_paths(sobject, query)
        return len(rows), [self._output(sobject, row, paths) for row in rows]

    # -- planning --------------------------------------------------------------------

    def _object(self, query):
        sobject = schema.lookup(query.sobject)
        if sobject is None or not can(self.actor, sobject.name, "read"):
            raise self._error(
                query.sobject_pos,
                (
                    f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                    "a custom object, be sure to append the '__c' after the entity name. Please "
                    "reference your WSDL or the describe call for the appropriate names."
                ),
                "INVALID_TYPE",
            )
        return sobject

    def _select_paths(self, sobject, query):
        paths, seen = [], set()
        for ref in query.fields:
            path = self._resolve(sobject, ref)
            key = tuple(part.lower() for part in ref.path)
            if key in seen:
                raise self._error(ref.pos, f"duplicate field selected: {'.'.join(ref.path)}")
            seen.add(key)
            paths.append(path)
        return paths

    def _resolve(self, sobject, ref):
        hops, current = [], sobject
        for part in ref.path[:-1]:
            hop = current.relationship(part) if current else None
            if hop is None:
                raise self._error(
                    ref.pos,
                    (
                        f"Didn't understand relationship '{part}' in field path. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' after "
                        "the custom relationship name. Please reference your WSDL or the describe "
                        "call for the appropriate names."
                    ),
                    "INVALID_FIELD",
                )
            hops.append(hop)
            current = None if hop.polymorphic else schema.OBJECTS[hop.reference_to[0]]
        name = ref.path[-1]
        if hops and hops[-1].polymorphic:
            match = next((n for n in schema.NAME_OBJECT_FIELDS if n.lower() == name.lower()), None)
            if match is None:
                raise self._error(ref.pos, _NO_SUCH_COLUMN.format(name=name, entity="Name"), "INVALID_FIELD")
            return Path(hops, schema.Field(match, _NAME_FIELD_TYPES.get(match, "string"), 255), True)
        field = current.field(name)
        if field is None:
            raise self._error(ref.pos, _NO_SUCH_COLUMN.format(name=name, entity=current.name), "INVALID_FIELD")
        return Path(hops, field, False)

    # -- filtering and ordering ------------------------------------------------------------

    def _matching_rows(self, query):
        sobject = self._object(query)
        restriction = content.query_restriction(sobject.name, query.where)
        if restriction:
            raise self._error(query.sobject_pos, restriction)
        predicate = self._compile(sobject, query.where) if query.where else (lambda row: True)
        rows = [row for row in self.store.records(sobject.name, self.include_deleted) if predicate(row)]
        for order in reversed(query.order):
            rows = self._sorted(sobject, rows, order)
        start = query.offset or 0
        end = None if query.limit is None else start + query.limit
        return sobject, rows[start:end]

    def _sorted(self, sobject, rows, order):
        path = self._resolve(sobject, order.field)
        if not path.final.filterable:
            raise self._error(
                order.field.pos, f"field '{path.final.name}' can not be sorted in a query call", "INVALID_FIELD"
            )
        keyed = [(self._comparable(path, self._value(row, path)), row) for row in rows]
        present = [item for item in keyed if item[0] is not None]
        present.sort(key=lambda item: item[0], reverse=order.descending)
        nulls = [row for key, row in keyed if key is None]
        ordered = [row for _, row in present]
        return nulls + ordered if order.nulls_first else ordered + nulls

    def _compile(self, sobject, node):
        if isinstance(node, BoolOp):
            parts = [self._compile(sobject, item) for item in node.items]
            combine = all if node.op == "AND" else any
            return lambda row: combine(part(row) for part in parts)
        if isinstance(node, Not):
            inner = self._compile(sobject, node.item)
            return lambda row: not inner(row)
        return self._compile_comparison(sobject, node)

    def _compile_comparison(self, sobject, node: Comparison):
        path = self._resolve(sobject, node.field)
        if not path.final.filterable:
            raise self._error(
                node.field.pos, f"field '{path.final.name}' can not be filtered in a query call", "INVALID_FIELD"
            )
        if node.op == "LIKE":
            pattern = _like_regex(node.value)
            return lambda row: _like(pattern, self._value(row, path))
        if isinstance(node.value, Query):
            targets = self._semi_join(path, node)
            operands = [("set", targets)]
        else:
            raw = node.value if isinstance(node.value, list) else [node.value]
            operands = [self._operand(path, value) for value in raw]
        op = node.op

        def test(row):
            current = self._comparable(path, self._value(row, path))
            if op in ("IN", "NOT IN", "=", "!="):
                hit = any(_equals(current, operand) for operand in operands)
                return hit if op in ("IN", "=") else not hit
            return _ordered(current, op, operands[0])

        return test

    def _semi_join(self, path, node):
        inner = node.value
        if path.kind != _ID or len(inner.fields) != 1 or inner.count:
            raise self._error(
                node.pos,
                "semi join sub-selects must select a single Id or "
                "reference field and be compared with an Id or reference field",
            )
        inner_object, rows = self._matching_rows(inner)
        inner_path = self._resolve(inner_object, inner.fields[0])
        if inner_path.kind != _ID:
            raise self._error(inner.fields[0].pos, "semi join sub-selects must select a single Id or reference field")
        return {value for value in (self._value(row, inner_path) for row in rows) if value}

    def _operand(self, path, value):
        kind = path.kind
        if value.kind == "null":
            return ("null", None)
        if value.literal_wildcards:
            raise self._error(value.pos, "Invalid string literal: \\% and \\_ are only valid in a LIKE expression")
        if kind == _TEXT and value.kind == "string":
            return ("value", value.value.casefold())
        if kind == _ID and value.kind == "string":
            if value.value == "":
                return ("null", None)  # Salesforce accepts '' for an id and treats it as null
            record_id = ids.normalize(value.value)
            if record_id is None:
                raise self._error(value.pos, f"invalid ID field: {value.value}", "INVALID_QUERY_FILTER_OPERATOR")
            return ("value", record_id)
        if kind == _NUMBER and value.kind == "number":
            return ("value", value.value)
        if kind == _BOOL and value.kind == "boolean":
            return ("value", value.value)
        if kind == _DATETIME and value.kind == "datetime":
            return ("value", values.format_datetime(values.parse_datetime(value.value)))
        if kind == _DATE and value.kind == "date":
            return ("value", value.value)
        if kind in (_DATETIME, _DATE) and value.kind == "date_literal":
            return ("range",) + _date_range(value.value, kind)
        quoted = "be" if kind in (_TEXT, _ID) else "not be"
        raise self._error(
            value.pos,
            (
                f"value of filter criterion for field '{path.final.name}' must be of type "
                f"{_TYPE_WORDS[kind]} and should {quoted} enclosed in quotes"
            ),
            "INVALID_FIELD",
        )

    # -- values ----------------------------------------------------------------------

    def _related(self, record_id):
        if not record_id:
            return None
        if record_id not in self._cache:
            record = self.store.get_record(record_id)
            self._cache[record_id] = None if not record or record.get("IsDeleted") else record
        return self._cache[record_id]

    def _value(self, row, path):
        current = row
        for hop in path.hops:
            current = self._related(current.get(hop.name))
            if current is None:
                return None
        if path.name_object and path.final.name == "Type":
            return ids.sobject_of(current["Id"])
        return current.get(path.final.name)

    @staticmethod
    def _comparable(path, value):
        if value is None:
            return None
        if path.kind == _TEXT:
            return str(value).casefold()
        if path.kind == _NUMBER:
            return float(value)
        return value

    def _output(self, sobject, row, paths):
        out = {"attributes": attributes(sobject.name, row["Id"], self.version)}
        for path in paths:
            target, current = out, row
            for hop in path.hops:
                related = self._related(current.get(hop.name))
                if related is None:
                    target[hop.relationship_name] = None
                    break
                if not target.get(hop.relationship_name):
                    type_name = "Name" if hop.polymorphic else hop.reference_to[0]
                    target[hop.relationship_name] = {"attributes": attributes(type_name, related["Id"], self.version)}
                target, current = target[hop.relationship_name], related
            else:
                if path.name_object and path.final.name == "Type":
                    target["Type"] = ids.sobject_of(current["Id"])
                else:
                    owner = schema.OBJECTS.get(path.hops[-1].reference_to[0]) if path.hops else sobject
                    target[path.final.name] = content.api_value(owner, path.final.name, current, self.version)
        return out

    def _error(self, pos, message, code="MALFORMED_QUERY"):
        return query_error(self.text, pos, message, code)


def _equals(current, operand):
    kind = operand[0]
    if kind == "null":
        return current is None
    if current is None:
        return False
    if kind == "set":
        return current in operand[1]
    if kind == "range":
        return operand[1] <= current < operand[2]
    return current == operand[1]


def _ordered(current, op, operand):
    if current is None or operand[0] in ("null", "set"):
        return False
    if operand[0] == "range":
        low, high = operand[1], operand[2]
        return {"<": current < low, "<=": current < high, ">": current >= high, ">=": current >= low}[op]
    other = operand[1]
    return {"<": current < other, "<=": current <= other, ">": current > other, ">=": current >= other}[op]


def _like_regex(value):
    parts = []
    for index, char in enumerate(value.value):
        if index in value.literal_wildcards:
            parts.append(re.escape(char))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _like(pattern, value):
    return value is not None and pattern.fullmatch(str(value)) is not None


def _date_range(literal, kind):
    name, amount = literal
    today = datetime.now(UTC).date()
    start, days = {
        "TODAY": (today, 1),
        "YESTERDAY": (today - timedelta(days=1), 1),
        "TOMORROW": (today + timedelta(days=1), 1),
        "LAST_N_DAYS": (today - timedelta(days=amount or 0), (amount or 0) + 1),
        "NEXT_N_DAYS": (today + timedelta(days=1), amount or 0),
    }[name]
    end = start + timedelta(days=days)
    if kind == _DATE:
        return start.isoformat(), end.isoformat()

    def to_stored(day):
        return values.format_datetime(datetime.combine(day, time(), UTC))

    return to_stored(start), to_stored(end)
