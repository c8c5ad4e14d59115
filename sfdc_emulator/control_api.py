"""``/_control/``: the test and demo control API (loopback peers only, JSON in and out).

Never counted toward API usage and never logged as a Salesforce call. See README.md
for the endpoint list; ``control.py`` is the Python client.
"""

import json

from . import faults, ids, records, schema, state, tokens, users
from .errors import SalesforceError
from .web import is_loopback, json_response


def handle(app, request):
    if not is_loopback(request.client_ip):
        return json_response(403, {"error": "the control API only answers loopback clients"})
    parts = [p for p in request.path.split("/") if p][1:]
    try:
        body = json.loads(request.body) if request.body.strip() else {}
        return _route(app, request, parts, body)
    except SalesforceError as error:
        return json_response(error.status, {"errors": error.errors})
    except (ValueError, TypeError, KeyError) as error:
        return json_response(400, {"error": str(error)})


def _route(app, request, parts, body):
    method, store = request.method, app.store
    head, rest = (parts[0] if parts else ""), parts[1:]
    if head == "state" and method == "GET":
        return _ok(_summary(app))
    if head == "reset" and method == "POST":
        app.reset()
        return _ok({"reset": True})
    if head == "calls":
        return _calls(app, request, rest)
    if head == "faults":
        if method == "GET":
            return _ok(faults.current(store))
        if method == "POST":
            return _ok(faults.set_faults(store, body))
        if method == "DELETE":
            faults.clear(store)
            return _ok({})
    if head == "tokens" and method == "POST" and rest == ["expire"]:
        return _ok({"expired": tokens.expire_access_tokens(app)})
    if head == "tokens" and method == "POST" and rest == ["revoke"]:
        return _ok({"revoked": tokens.revoke_refresh_tokens(app, body.get("username"))})
    if head == "records" and rest:
        return _records(app, request, rest, body)
    if head == "permissions" and len(rest) == 1:
        if method == "GET":
            security = store.security(username=rest[0])
            if security is None:
                return json_response(404, {"error": f"No such user: {rest[0]}"})
            return _ok(users.public_security(security))
        if method in ("PUT", "PATCH"):
            return _ok(users.set_permissions(store, rest[0], body))
    if head == "users" and method == "GET":
        return _ok({"users": users.directory(store)})
    if head == "users" and method == "POST":
        created = users.add_many(
            store,
            body.get("count", 1),
            user_type=body.get("user_type", "Standard"),
            active=bool(body.get("active", True)),
            prefix=body.get("prefix", "bulk"),
        )
        return _ok({"created": len(created)})
    if head == "settings":
        if method == "GET":
            return _ok(state.settings(store))
        if method in ("PUT", "PATCH"):
            return _ok(state.update_settings(store, body))
    return json_response(404, {"error": f"no control endpoint {method} {request.path}"})


def _calls(app, request, rest):
    store = app.store
    if request.method == "GET" and not rest:
        return _ok({"calls": store.calls(int(request.params.get("since", 0) or 0))})
    if request.method == "GET" and rest == ["count"]:
        return _ok(store.count_calls(request.params.get("prefix", "/services/data")))
    if request.method == "POST" and rest == ["reset"]:
        store.reset_calls()
        return _ok({"reset": True})
    return json_response(404, {"error": "unknown calls endpoint"})


def _records(app, request, rest, body):
    store, method = app.store, request.method
    sobject = schema.lookup(rest[0])
    if sobject is None:
        return json_response(404, {"error": f"unknown sObject {rest[0]}"})
    actor = users.system_actor(store)
    validate = request.params.get("validate", "true").lower() not in ("0", "false", "no")
    if len(rest) == 1 and method == "GET":
        include_deleted = request.params.get("include_deleted", "") in ("1", "true", "yes")
        return _ok({"records": store.records(sobject.name, include_deleted)})
    if len(rest) == 1 and method == "POST":
        record_id = records.create(store, actor, sobject.name, body, trusted=True, validate=validate)
        return json_response(201, {"id": record_id, "record": store.get_record(record_id)})
    if len(rest) != 2:
        return json_response(404, {"error": "unknown records endpoint"})
    record_id = ids.normalize(rest[1]) or rest[1]
    if method == "GET":
        record = store.get_record(record_id)
        return _ok({"record": record}) if record else json_response(404, {"error": "not found"})
    if method == "PATCH":
        records.update(store, actor, sobject.name, record_id, body, trusted=True, validate=validate)
        return _ok({"record": store.get_record(record_id)})
    if method == "DELETE":
        records.delete(store, actor, sobject.name, record_id, trusted=True)
        return _ok({"deleted": record_id})
    return json_response(405, {"error": f"{method} not allowed"})


def _summary(app):
    store = app.store
    return {
        "base_url": app.base_url,
        "login_url": app.login_base(False),
        "sandbox_login_url": app.login_base(True),
        "ca_bundle": app.ca_bundle,
        "records": store.record_counts(),
        "tokens": store.token_counts(),
        "usage": state.usage(store),
        "faults": faults.current(store),
        "settings": state.settings(store),
        "calls": store.count_calls("/"),
    }


def _ok(payload):
    return json_response(200, payload)
