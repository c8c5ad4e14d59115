"""Routing of ``/services/data/vXX.X/...`` resources, shared by REST and /composite.

``dispatch`` takes an already-authenticated context and returns a Result or raises
SalesforceError; it never counts API usage (the caller does, once per HTTP request).
"""

import re

from . import composite, sobjects, state
from .errors import not_found
from .results import Result, require_method

VERSIONS = {
    50: "Winter '21",
    51: "Spring '21",
    52: "Summer '21",
    53: "Winter '22",
    54: "Spring '22",
    55: "Summer '22",
    56: "Winter '23",
    57: "Spring '23",
    58: "Summer '23",
    59: "Winter '24",
    60: "Spring '24",
    61: "Summer '24",
    62: "Winter '25",
}
_VERSION_RE = re.compile(r"^/v(\d+)\.0(/.*)?$")


def versions_list():
    return [
        {"label": label, "url": f"/services/data/v{number}.0", "version": f"{number}.0"}
        for number, label in VERSIONS.items()
    ]


def split_version(path):
    """``/v59.0/sobjects/Event`` -> ("59.0", "/sobjects/Event"); None if not a supported version."""
    match = _VERSION_RE.match(path)
    if not match or int(match.group(1)) not in VERSIONS:
        return None
    return f"{match.group(1)}.0", match.group(2) or "/"


def dispatch(ctx, method, path, params, body):
    parts = [p for p in path.split("/") if p]
    if not parts:
        return _only(method, "GET", lambda: Result(200, _resources(ctx.version)))
    head, rest = parts[0], parts[1:]
    if head == "sobjects":
        return sobjects.route(ctx, method, rest, params, body)
    if head in ("query", "queryAll"):
        return _only(method, "GET", lambda: Result(200, _query(ctx, head, rest, params)))
    if head == "composite" and not rest:
        return _only(method, "POST", lambda: Result(200, composite.run(ctx, body)))
    if head == "composite" and rest[:1] == ["sobjects"]:
        return composite.collections(ctx, method, rest[1:], params, body)
    if head == "limits" and not rest:
        return _only(method, "GET", lambda: Result(200, limits(ctx.app.store)))
    raise not_found()


def limits(store):
    usage = state.usage(store)
    return {
        "DailyApiRequests": {"Max": usage["total"], "Remaining": max(usage["total"] - usage["used"], 0)},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1000},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
        "HourlyTimeBasedWorkflow": {"Max": 1000, "Remaining": 1000},
        "SingleEmail": {"Max": 5000, "Remaining": 5000},
    }


def _only(method, allowed, run):
    require_method(method, [allowed])
    return run()


def _query(ctx, endpoint, rest, params):
    store, cursors = ctx.app.store, ctx.app.cursors
    batch_size = state.settings(store)["query_batch_size"]
    if rest:
        return cursors.more(rest[0], ctx.version, batch_size)
    return cursors.query(store, ctx.actor, params.get("q", ""), ctx.version, endpoint == "queryAll", batch_size)


def _resources(version):
    base = f"/services/data/v{version}"
    names = (
        "sobjects",
        "query",
        "queryAll",
        "composite",
        "limits",
        "search",
        "recent",
        "tooling",
        "chatter",
        "analytics",
        "connect",
    )
    return {name: f"{base}/{name}" for name in names}
