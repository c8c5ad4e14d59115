"""Content-Security-Policy and Permissions-Policy on every page (issue 15), and no template that
would need an inline script the policy refuses."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db
TEMPLATE_DIRS = [Path(django_settings.BASE_DIR) / "templates"] + [
    path for path in Path(django_settings.BASE_DIR).glob("*/templates") if ".venv" not in path.parts
]
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def assert_protected(response):
    policy = directives(response)
    # 'self', plus the response's nonce when a template used it (django-csp adds it only then).
    assert policy["script-src"][0] == "'self'", policy["script-src"]
    assert all(re.fullmatch(r"'nonce-[A-Za-z0-9+/=_-]{16,}'", value) for value in policy["script-src"][1:])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert response["Permissions-Policy"].startswith("accelerometer=(), camera=(), geolocation=()")
    assert "microphone=()" in response["Permissions-Policy"]


def test_a_public_booking_page_carries_the_policies(client, link):
    response = client.get("/book/acme/intro/")

    assert response.status_code == 200
    assert_protected(response)
    html = response.content.decode()
    # The one script of the page is a file from our origin.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/js/booking-form.js" defer>',
        '<script src="/static/js/timezone.js" defer>',
    ]


def test_an_admin_page_carries_the_policies(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert_protected(response)


def test_the_salesforce_settings_page_carries_the_policies(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/settings/integrations/salesforce/")

    assert response.status_code == 200
    assert_protected(response)


def test_error_pages_and_the_sign_in_page_carry_the_policies(client, db):
    assert_protected(client.get("/accounts/login/"))
    assert_protected(client.get("/book/acme/no-such-link/"))


def test_no_template_has_an_inline_script_without_a_nonce_or_an_event_handler():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = path.read_text()
            for attributes in SCRIPT_TAG.findall(text):
                if "src=" not in attributes and "nonce=" not in attributes:
                    offenders.append(f"{path}: <script{attributes}> (inline, no nonce)")
            if EVENT_HANDLER.search(text) or "javascript:" in text.lower():
                offenders.append(f"{path}: an on*= handler or javascript: URL")

    assert offenders == [], 'Move the code to static/js/ (or give it nonce="{{ request.csp_nonce }}"):\n' + "\n".join(
        offenders
    )


def test_an_inline_script_with_the_nonce_is_allowed_by_the_header(rf):
    """A template that needs an inline script gives it nonce="{{ request.csp_nonce }}"; the
    header then names that nonce (and only this response's)."""
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.template import engines

    template = engines["django"].from_string('<script nonce="{{ request.csp_nonce }}">var ok = 1;</script>')

    def view(request):
        return HttpResponse(template.render({}, request))

    responses = [CSPMiddleware(view)(rf.get("/")) for _ in range(2)]

    nonces = []
    for response in responses:
        nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
        assert f"'nonce-{nonce}'" in directives(response)["script-src"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
