"""Request-level defences shared by every app: who the client is, and the headers every response
carries that django-csp does not set."""

import ipaddress
import logging

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger("workestra.security")


def client_ip(request: HttpRequest) -> str:
    """The client's address, as rate limits and the sign-in lockout key it.

    Behind TRUSTED_PROXY_COUNT proxies, the address the outermost trusted proxy saw: the Nth entry
    from the right of X-Forwarded-For. Entries further left were written by the client and are
    never believed (else one script could rotate addresses and never be limited)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            remote = forwarded[-count]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return ""


def signin_client_ip(request: HttpRequest) -> str | None:
    """client_ip for django-axes, which stores it in an address column: None when there is none
    (a request built in code, such as the test client's force_login)."""
    return client_ip(request) or None


def signin_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The sign-in name axes counts failures under: lower-cased and trimmed, as the sign-in form
    matches emails, so "Ann@X.test " and "ann@x.test" are one account to the lockout too."""
    field = "username"
    value = (credentials or {}).get(field) or request.POST.get(field, "")
    return str(value).strip().lower()[:254]


class PermissionsPolicyMiddleware:
    """Permissions-Policy on every response: the app uses no camera, microphone, location,
    payment or sensor API, so a script injected into a page cannot either."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """What a locked-out sign-in sees (django-axes' AXES_LOCKOUT_CALLABLE). The same page whether
    the account exists or not, and whether the account or the client tripped the limit, so it
    tells an attacker nothing about which emails have accounts."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0
    logger.warning("auth.signin.locked_out", extra={"client_ip": client_ip(request)})
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
