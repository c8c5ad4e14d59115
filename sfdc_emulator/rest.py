"""The REST front door: ``/services/data`` authentication, API limits, faults, headers.

Order of checks for ``/services/data/vXX.X/...``: version (404), Bearer session
(401 INVALID_SESSION_ID), the org's API (setting ``api_disabled_for_org``: 403
API_DISABLED_FOR_ORG, "API is not enabled for this Organization or Partner"), API Enabled
(403 API_CURRENTLY_DISABLED, "API is disabled for this User"), allotment (403 REQUEST_LIMIT_EXCEEDED, which is not counted), then the
call is counted once - composite and collections included - and dispatched. Every
response carries ``Sforce-Limit-Info: api-usage=U/T``
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm).
The version list ``GET /services/data/`` needs no session and is not counted.
A ``timeout_after_write`` fault fires on the next successful write (a /composite made only
of GET subrequests is a read). A ``late_commit`` fault holds the next write for N seconds
*before* applying it (the client times out meanwhile), then applies it - or rolls it back.
A request line longer than 16,384 bytes is refused with 414 before anything else, as
Salesforce's front end does for ``GET /query?q=...`` (the URI limit; see README.md).
"""

import time

from . import api, faults, state, tokens
from .errors import SalesforceError, invalid_session, not_found, request_limit_exceeded
from .results import Ctx
from .web import Response, error_response, html_response, json_response

WRITE_METHODS = ("POST", "PATCH", "DELETE", "PUT")


def handle(app, request, call):
    response = _handle(app, request, call)
    usage = state.usage(app.store)
    response.headers["Sforce-Limit-Info"] = f"api-usage={usage['used']}/{usage['total']}"
    return response


MAX_URI_BYTES = 16_384


def _handle(app, request, call):
    if len(request.path) + 1 + len(request.query_string or "") > MAX_URI_BYTES:
        return html_response(414, "<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>")
    sub_path = request.path[len("/services/data") :]
    if sub_path in ("", "/"):
        return json_response(200, api.versions_list())
    split = api.split_version(sub_path.rstrip("/"))
    if split is None:
        return error_response(not_found())
    version, path = split
    call["api_version"] = version
    session = tokens.session(app, request.bearer_token())
    if session is None:
        return error_response(invalid_session())
    token_row, actor = session
    call["org"] = token_row["org"]
    if state.settings(app.store)["api_disabled_for_org"]:
        return error_response(
            SalesforceError(403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner")
        )
    if not actor.get("api_enabled"):
        return error_response(SalesforceError(403, "API_CURRENTLY_DISABLED", "API is disabled for this User"))
    if faults.request_limit_exceeded(app.store) or not state.count_api_call(app.store):
        return error_response(request_limit_exceeded())
    call["counted"] = True
    try:
        body = request.json() if request.method in ("POST", "PATCH", "PUT") else None
        call["subrequests"] = _subrequest_summary(path, body)
        if _is_write(request.method, path, body) and _late_commit_rolled_back(app):
            return error_response(
                SalesforceError(500, "UNKNOWN_EXCEPTION", "The request ran too long and was rolled back.")
            )
        result = api.dispatch(Ctx(app, actor, token_row["org"], version), request.method, path, request.params, body)
        if isinstance(result.body, bytes):  # a blob (ContentNote Content)
            response = Response(
                result.status, result.body, {"Content-Type": "application/octetstream", **result.headers}
            )
        else:
            response = json_response(result.status, result.body if result.status != 204 else None, result.headers)
    except SalesforceError as error:
        return error_response(error)
    if _is_write(request.method, path, body):
        _apply_write_timeout(app, response)
    return response


def _subrequest_summary(path, body):
    """For the call log: a /composite's subrequests as "METHOD path" lines (version dropped),
    so tests can tell a composite of creates from one of lookups."""
    if path.strip("/") != "composite" or not isinstance(body, dict):
        return None
    lines = []
    for sub in body.get("compositeRequest") or []:
        url = str(sub.get("url", "")) if isinstance(sub, dict) else ""
        split = api.split_version(url.split("?")[0][len("/services/data") :])
        lines.append(f"{str(sub.get('method', '')).upper()} {split[1] if split else url}")
    return "\n".join(lines)


def _is_write(method, path, body):
    """POST/PATCH/DELETE, except a /composite made only of GET subrequests (a batched read)."""
    if method not in WRITE_METHODS:
        return False
    if path.strip("/") == "composite" and isinstance(body, dict):
        subrequests = body.get("compositeRequest") or []
        return any(str(sub.get("method", "")).upper() != "GET" for sub in subrequests)
    return True


def _late_commit_rolled_back(app):
    """late_commit: keep the request running past the client's timeout, then go on (commit)
    or report it rolled back. Nobody is listening by then either way."""
    fault = faults.take_late_commit(app.store)
    if fault is None:
        return False
    seconds, rollback = fault
    time.sleep(seconds)
    return rollback


def _apply_write_timeout(app, response):
    """timeout_after_write: the write is committed; then hang or drop the connection."""
    fault = faults.take_write_timeout(app.store)
    if fault is None:
        return
    mode, seconds = fault
    if mode == "drop":
        response.drop = True
    else:
        response.delay += seconds
