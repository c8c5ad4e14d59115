"""Injected faults, kept in the store so every server thread sees the same counters.

Shapes accepted by ``POST /_control/faults`` (merged into the current set):
``latency_ms``, ``fail{status,count,prefix}``, ``fail_for_seconds{status,seconds,prefix}``,
``timeout_after_write{count,mode:hang|drop,seconds,skip}``, ``late_commit{count,seconds,rollback}``,
``request_limit_exceeded``,
``api_usage{used,total}`` (applied to the usage counter, not stored as a fault).
"""

import time

from . import state
from .web import json_response

DEFAULT_PREFIX = "/services/data"
_FAIL_BODIES = {
    500: [
        {
            "message": "An unexpected error occurred. Please include this ErrorId if you contact "
            "support: 1234567890-12345 (-1234567890)",
            "errorCode": "UNKNOWN_EXCEPTION",
        }
    ],
    502: [{"message": "Bad Gateway", "errorCode": "SERVER_UNAVAILABLE"}],
    503: [{"message": "Server is temporarily unavailable. Please try again later.", "errorCode": "SERVER_UNAVAILABLE"}],
    504: [{"message": "Gateway Timeout", "errorCode": "SERVER_UNAVAILABLE"}],
}


def current(store):
    return store.kv_get("faults") or {}


def set_faults(store, changes):
    with store.atomic():
        faults = current(store)
        usage = changes.get("api_usage")
        if usage:
            state.set_usage(store, used=usage.get("used"), total=usage.get("total"))
        if "latency_ms" in changes:
            faults["latency_ms"] = int(changes["latency_ms"] or 0)
        if "fail" in changes:
            fail = changes["fail"]
            faults["fail"] = {
                "status": int(fail.get("status", 503)),
                "count": int(fail.get("count", 1)),
                "prefix": fail.get("prefix", DEFAULT_PREFIX),
            }
        if "fail_for_seconds" in changes:
            spec = changes["fail_for_seconds"]
            faults["fail_for_seconds"] = {
                "status": int(spec.get("status", 503)),
                "until": time.time() + float(spec.get("seconds", 60)),
                "prefix": spec.get("prefix", DEFAULT_PREFIX),
            }
        if "timeout_after_write" in changes:
            spec = changes["timeout_after_write"]
            mode = spec.get("mode", "hang")
            if mode not in ("hang", "drop"):
                raise ValueError("timeout_after_write.mode must be 'hang' or 'drop'")
            faults["timeout_after_write"] = {
                "count": int(spec.get("count", 1)),
                "mode": mode,
                "seconds": float(spec.get("seconds", 10)),
                "skip": int(spec.get("skip", 0)),
            }
        if "late_commit" in changes:
            spec = changes["late_commit"]
            faults["late_commit"] = {
                "count": int(spec.get("count", 1)),
                "seconds": float(spec.get("seconds", 10)),
                "rollback": bool(spec.get("rollback", False)),
            }
        if "request_limit_exceeded" in changes:
            faults["request_limit_exceeded"] = bool(changes["request_limit_exceeded"])
        store.kv_set("faults", _without_spent(faults))
    return current(store)


def clear(store):
    store.kv_set("faults", {})


def latency_seconds(store):
    return current(store).get("latency_ms", 0) / 1000.0


def request_limit_exceeded(store):
    return bool(current(store).get("request_limit_exceeded"))


def take_failure(store, path):
    """If a fail fault matches ``path``, consume it and return the error response."""
    with store.atomic():
        faults = current(store)
        fail = faults.get("fail")
        if fail and fail["count"] > 0 and path.startswith(fail["prefix"]):
            fail["count"] -= 1
            store.kv_set("faults", _without_spent(faults))
            return _failure_response(fail["status"])
        timed = faults.get("fail_for_seconds")
        if timed and time.time() < timed["until"] and path.startswith(timed["prefix"]):
            return _failure_response(timed["status"])
    return None


def take_write_timeout(store):
    """Consume one timeout_after_write fault; returns (mode, seconds) or None."""
    with store.atomic():
        faults = current(store)
        spec = faults.get("timeout_after_write")
        if not spec or spec["count"] <= 0:
            return None
        if spec.get("skip", 0) > 0:  # let this many writes answer first
            spec["skip"] -= 1
            store.kv_set("faults", faults)
            return None
        spec["count"] -= 1
        store.kv_set("faults", _without_spent(faults))
        return spec["mode"], spec["seconds"]


def take_late_commit(store):
    """Consume one late_commit fault; returns (seconds, rollback) or None.

    Real Salesforce keeps running a request after the client gave up (lock waits, triggers,
    flows): the write is applied, or rolled back, only when the request's own work ends.
    """
    with store.atomic():
        faults = current(store)
        spec = faults.get("late_commit")
        if not spec or spec["count"] <= 0:
            return None
        spec["count"] -= 1
        store.kv_set("faults", _without_spent(faults))
        return spec["seconds"], spec["rollback"]


def _failure_response(status):
    body = _FAIL_BODIES.get(status, [{"message": f"HTTP {status}", "errorCode": "UNKNOWN_EXCEPTION"}])
    return json_response(status, body)


def _without_spent(faults):
    spent = [
        name for name in ("fail", "timeout_after_write", "late_commit") if name in faults and faults[name]["count"] <= 0
    ]
    for name in spent:
        del faults[name]
    if faults.get("fail_for_seconds") and faults["fail_for_seconds"]["until"] <= time.time():
        del faults["fail_for_seconds"]
    return faults
