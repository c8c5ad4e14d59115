"""``/composite`` and ``/composite/sobjects`` (sObject Collections).

Composite: up to 25 subrequests, ``@{ref.path}`` references resolved in url and body,
always HTTP 200 with ``compositeResponse``; ``allOrNone`` rolls back every write and the
other subrequests report PROCESSING_HALTED
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm).
Collections: up to 200 records, SaveResult per record in order; ``allOrNone`` rolls all
back and marks the valid ones ALL_OR_NONE_OPERATION_ROLLED_BACK
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm).
Both count as one API call (the caller counts the HTTP request once).
Of the 25 subrequests of a /composite, at most 5 may be query operations or sObject
Collections (API v43.0+); more is refused before anything runs (message unverified).
"""

import re
from urllib.parse import parse_qs, urlsplit

from . import ids, records, schema
from .errors import SalesforceError, json_parser_error
from .results import Ctx, Result, require_method

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTION_SUBREQUESTS = 5
MAX_RECORDS = 200
_QUERY_OR_COLLECTION_RE = re.compile(r"^/services/data/v\d+\.\d/(query|queryAll|composite/sobjects)(/|\?|$)")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same transaction failed.",
    }
]
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


class _Rollback(Exception):
    pass


class _BadReference(Exception):
    pass


# -- /composite ----------------------------------------------------------------------------


def run(ctx, body):
    subrequests, all_or_none = _composite_input(body)
    responses, outputs, failed = [], {}, False
    try:
        with ctx.app.store.atomic():
            for sub in subrequests:
                response = _run_subrequest(ctx, sub, outputs)
                responses.append(response)
                if response["httpStatusCode"] >= 400:
                    failed = True
                    if all_or_none:
                        raise _Rollback()
                else:
                    outputs[sub["referenceId"]] = response["body"]
    except _Rollback:
        pass
    if all_or_none and failed:
        failed_ref = responses[-1]["referenceId"]
        responses = [
            responses[-1]
            if sub["referenceId"] == failed_ref
            else {"body": _HALTED, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": sub["referenceId"]}
            for sub in subrequests
        ]
    return {"compositeResponse": responses}


def _composite_input(body):
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise json_parser_error("Cannot deserialize instance of CompositeRequest: compositeRequest is required")
    subrequests = body["compositeRequest"]
    if len(subrequests) > MAX_SUBREQUESTS:
        # Message unverified; the 25-subrequest limit is documented.
        raise SalesforceError(
            400, "INVALID_API_INPUT", f"Composite Request can have a maximum of {MAX_SUBREQUESTS} subrequests"
        )
    seen = set()
    for sub in subrequests:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not ref or not re.fullmatch(r"[A-Za-z0-9_]+", ref) or ref in seen:
            raise SalesforceError(400, "INVALID_API_INPUT", f"Invalid referenceId: {ref}")
        if not sub.get("method") or not sub.get("url"):
            raise SalesforceError(400, "INVALID_API_INPUT", "Each subrequest needs method, url and referenceId")
        seen.add(ref)
    heavy = sum(1 for sub in subrequests if _QUERY_OR_COLLECTION_RE.match(str(sub["url"])))
    if heavy > MAX_QUERY_OR_COLLECTION_SUBREQUESTS:
        # The limit is documented ("up to 5 of these subrequests can be sObject Collections or
        # query operations"); the error code and message are a guess.
        raise SalesforceError(
            400,
            "INVALID_API_INPUT",
            f"Composite Request can have a maximum of "
            f"{MAX_QUERY_OR_COLLECTION_SUBREQUESTS} query or sObject "
            f"Collections subrequests, but got {heavy}",
        )
    return subrequests, bool(body.get("allOrNone", False))


def _run_subrequest(ctx, sub, outputs):
    from .api import dispatch, split_version  # api routes /composite here

    ref, method = sub["referenceId"], sub["method"].upper()
    try:
        url = _resolve_text(sub["url"], outputs)
        sub_body = _resolve_json(sub.get("body"), outputs)
    except _BadReference as bad:
        return _response(ref, 400, [{"errorCode": "PROCESSING_HALTED", "message": str(bad)}])
    parts = urlsplit(url)
    split = split_version(parts.path[len("/services/data") :]) if parts.path.startswith("/services/data/") else None
    if split is None or split[1].rstrip("/") == "/composite":
        return _response(
            ref,
            400,
            [{"errorCode": "INVALID_API_INPUT", "fields": [], "message": f"Invalid subrequest url: {sub['url']}"}],
        )
    version, path = split
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    sub_ctx = Ctx(ctx.app, ctx.actor, ctx.org, version)
    try:
        with ctx.app.store.atomic():
            result = dispatch(sub_ctx, method, path, params, sub_body)
    except SalesforceError as error:
        return _response(ref, error.status, error.errors)
    return _response(ref, result.status, result.body, result.headers)


def _response(ref, status, body, headers=None):
    return {"body": body, "httpHeaders": headers or {}, "httpStatusCode": status, "referenceId": ref}


def _resolve_text(text, outputs):
    return _REFERENCE_RE.sub(lambda m: str(_lookup(m, outputs)), text)


def _resolve_json(value, outputs):
    if isinstance(value, dict):
        return {k: _resolve_json(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_json(v, outputs) for v in value]
    if isinstance(value, str):
        whole = _REFERENCE_RE.fullmatch(value)
        return _lookup(whole, outputs) if whole else _resolve_text(value, outputs)
    return value


def _lookup(match, outputs):
    ref, path = match.group(1), match.group(2)
    expression = ref + path
    if ref not in outputs:
        raise _BadReference(
            f"Invalid reference specified. No value for {expression} found in {ref}. Provided "
            f"referenceId ('{ref}') must match a referenceId from a previous successful "
            "subrequest."
        )
    current = outputs[ref]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            current = current[int(index)] if index else current[key]
        except (KeyError, IndexError, TypeError):
            raise _BadReference(f"Invalid reference specified. No value for {expression} found in {ref}.") from None
    return current


# -- /composite/sobjects -------------------------------------------------------------------


def collections(ctx, method, rest, params, body):
    if rest:
        require_method(method, ["GET"])
        return Result(200, _retrieve(ctx, rest[0], params))
    require_method(method, ["POST", "PATCH", "DELETE"])
    if method == "DELETE":
        record_ids = [i for i in params.get("ids", "").split(",") if i]
        if not record_ids:
            # Issue 11's recorded answer: 400 REQUIRED_FIELD_MISSING; the message is a guess.
            raise SalesforceError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [ids]", ["ids"])
        all_or_none = params.get("allOrNone", "false").lower() == "true"
        items = [(None, record_id) for record_id in record_ids]
    else:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise json_parser_error("Cannot deserialize instance of SObjectCollection: records is required")
        all_or_none = bool(body.get("allOrNone", False))
        items = [(_record_type(record), record) for record in body["records"]]
    if len(items) > MAX_RECORDS:
        # Message unverified; the 200-record limit is documented.
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return Result(200, _save_all(ctx, method, items, all_or_none))


def _save_all(ctx, method, items, all_or_none):
    results = []
    try:
        with ctx.app.store.atomic():
            for sobject_name, item in items:
                results.append(_save_one(ctx, method, sobject_name, item))
            if all_or_none and not all(r["success"] for r in results):
                raise _Rollback()
    except _Rollback:
        results = [r if not r["success"] else {**r, "success": False, "errors": [_ROLLED_BACK]} for r in results]
        for result in results:
            if method == "POST":
                result.pop("id", None)
    return results


def _save_one(ctx, method, sobject_name, item):
    store, actor = ctx.app.store, ctx.actor
    record_id = item if method == "DELETE" else item.get("Id") or item.get("id")
    fields = {} if method == "DELETE" else {k: v for k, v in item.items() if k not in ("attributes", "Id", "id")}
    try:
        with store.atomic():
            if method == "POST":
                if record_id:
                    raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
                return {"id": records.create(store, actor, sobject_name, fields), "success": True, "errors": []}
            _check_collection_id(record_id, sobject_name)
            sobject_name = sobject_name or ids.sobject_of(record_id)
            if method == "PATCH":
                records.update(store, actor, sobject_name, record_id, fields)
            else:
                records.delete(store, actor, sobject_name, record_id)
            return {"id": ids.normalize(record_id), "success": True, "errors": []}
    except SalesforceError as error:
        if error.status == 404 and error.error_code == "NOT_FOUND":
            error = SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        result = {"success": False, "errors": error.save_result_errors()}
        if method != "POST" and record_id:
            result = {"id": record_id, **result}
        return result


def _check_collection_id(record_id, sobject_name):
    if not record_id:
        raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    normalized = ids.normalize(record_id)
    if normalized is None:
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", ["Id"])
    if sobject_name and ids.sobject_of(normalized) != sobject_name:
        raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])


def _record_type(record):
    sobject_name = ((record or {}).get("attributes") or {}).get("type") if isinstance(record, dict) else None
    sobject = schema.lookup(sobject_name)
    if sobject is None:
        raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return sobject.name


def _retrieve(ctx, sobject_name, params):
    sobject = schema.lookup(sobject_name)
    if sobject is None or not records.can(ctx.actor, sobject.name, "read"):
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    fields = records.resolve_fields(sobject, params["fields"].split(",")) if params.get("fields") else None
    found = []
    for record_id in [i for i in params.get("ids", "").split(",") if i]:
        try:
            _, record = records.fetch(ctx.app.store, ctx.actor, sobject.name, record_id)
            found.append(records.api_view(sobject, record, ctx.version, fields))
        except SalesforceError:
            found.append(None)
    return found
