"""Fixed-window request limits in the shared cache, for the public POST pages.

A limit is "<count>/<seconds>" (a setting). Each request adds one to the counter of its window
(`cache.add` then `cache.incr`, both atomic on Redis), so every gunicorn worker counts into the same
number when the cache is shared: Redis in production, a file cache in the demo. A request over any
of its limits is answered 429 before the view runs, so nothing beyond the limit is written.
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .security import client_ip

logger = logging.getLogger("workestra.ratelimit")
KEY_PREFIX = "ratelimit"
_now = time.time  # tests pin the clock so a run never straddles a window's end


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, value: str) -> "Rate":
        """'10/600' -> 10 per 600 seconds. Raises ValueError on anything else."""
        count, _, seconds = value.partition("/")
        rate = cls(int(count), int(seconds))
        if rate.count < 1 or rate.seconds < 1:
            raise ValueError(f"a rate is <count>/<seconds>, both positive: {value!r}")
        return rate


def hit(*, scope: str, identity: str, rate: Rate) -> tuple[bool, int]:
    """Count one request of `identity` under `scope`. Returns (allowed, seconds until the window
    ends). Fails open: if the cache is down, the request is allowed (and logged) rather than every
    invitee being refused."""
    now = _now()
    window = int(now // rate.seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    # The window's number is part of the key, so a backend whose incr() resets the expiry (the
    # file cache) still starts a fresh count each window.
    key = f"{KEY_PREFIX}:{scope}:{rate.seconds}:{window}:{digest}"
    retry_after = rate.seconds - int(now) % rate.seconds
    try:
        if cache.add(key, 1, rate.seconds + 1):
            count = 1
        else:
            count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: this request starts the window
        cache.add(key, 1, rate.seconds + 1)
        count = 1
    except Exception:
        logger.warning("ratelimit.cache.unavailable", extra={"scope": scope}, exc_info=True)
        return True, 0
    return count <= rate.count, retry_after


def limit_post(**scopes: str) -> Callable:
    """Decorate a public view: each POST counts against every named scope.

    `scopes` maps a scope name to the setting with its rate; the identity of a scope is the
    client address for names ending in "client", else the view's URL kwargs (the link, booking or
    form the request is aimed at). Example: @limit_post(client="RATELIMIT_BOOK_PER_CLIENT",
    link="RATELIMIT_BOOK_PER_LINK")."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method == "POST" and settings.RATELIMIT_ENABLED:
                refused = _check(request, view.__name__, scopes, kwargs)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _check(request: HttpRequest, view_name: str, scopes: dict[str, str], kwargs: dict) -> HttpResponse | None:
    for scope, setting_name in scopes.items():
        rate = Rate.parse(getattr(settings, setting_name))
        if scope.endswith("client"):
            identity = client_ip(request)
        else:
            identity = "/".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
        allowed, retry_after = hit(scope=f"{view_name}:{scope}", identity=identity, rate=rate)
        if not allowed:
            logger.warning(
                "ratelimit.refused",
                extra={"view": view_name, "scope": scope, "limit": setting_name, "retry_after": retry_after},
            )
            return too_many_requests(request, retry_after=retry_after, per_client=scope.endswith("client"))
    return None


def too_many_requests(request: HttpRequest, *, retry_after: int, per_client: bool) -> HttpResponse:
    minutes = max(1, round(retry_after / 60))
    response = render(
        request,
        "429.html",
        {"minutes": minutes, "per_client": per_client},
        status=429,
    )
    response["Retry-After"] = str(max(1, retry_after))
    return response
