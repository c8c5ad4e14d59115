"""CSRF on every state-changing view.

Each POST endpoint of the URL matrix gets a request that WOULD change something (the control
proves it: with a valid token it does). Without a token, or with a forged one, the answer is
403 and nothing changes: no row, no session state. The notetaker webhook is machine-to-machine
and CSRF-exempt; it must instead refuse every request that is not signed with the secret.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from bookings.availability import link_free_slots
from integrations.salesforce import oauth
from notetaker.webhook import sign
from tests.fixtures.factories import PASSWORD
from tests.routing.routing_support import builder_data
from tests.security.security_support import (
    ADMIN,
    ANON,
    OWNER,
    WEBHOOK_SECRET,
    db_snapshot,
    form_token,
)
from tests.security.test_security_url_matrix import MATRIX

LOGGED_IN = "_auth_user_id"
WEBHOOK = "notetaker:recap_webhook"


def availability(prefix="availability"):
    return {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-weekday": "0",
        f"{prefix}-0-start_time": "09:00",
        f"{prefix}-0-end_time": "17:00",
    }


def routing_form(name):
    return builder_data(
        name=name,
        slug="csrf-form",
        questions=[{"label": "Email", "key": "email", "kind": "email", "required": True}],
        fallback={"action": "message", "message": "Thanks"},
    )


@dataclass(frozen=True)
class Case:
    role: str
    data: Callable  # world -> POST data that changes something when accepted
    kwargs: Callable = lambda w: {}
    effect: str = "db"  # "db" | "login" | "logout" | "oauth_state" | "none" (still 403 without a token)
    setup: Callable = lambda w: None  # rows the POST acts on, written before the snapshot


def failed_operation(world) -> None:
    from integrations.salesforce.models import SyncOperation

    SyncOperation.objects.create(
        workspace=world.workspace,
        connection=world.connection,
        booking=world.booking,
        trigger="confirmed",
        state=SyncOperation.State.FAILED,
        error_code="FIELD_INTEGRITY_EXCEPTION",
    )


CASES: dict[str, Case] = {
    "login": Case(ANON, lambda w: {"username": w.admin.email, "password": PASSWORD}, effect="login"),
    "logout": Case(ADMIN, lambda w: {}, effect="logout"),
    "bookings:book": Case(
        ANON,
        lambda w: {"name": "Ivy", "email": "ivy@example.com", "start": link_free_slots(w.link)[0].isoformat()},
        kwargs=lambda w: {"workspace_slug": w.workspace.slug, "link_slug": w.link.slug},
    ),
    "bookings:booking_reschedule": Case(
        ANON, lambda w: {"start": link_free_slots(w.link)[0].isoformat()}, kwargs=lambda w: {"uid": w.booking.uid}
    ),
    "bookings:booking_cancel": Case(ANON, lambda w: {"reason": "csrf"}, kwargs=lambda w: {"uid": w.booking.uid}),
    "routing:public_form": Case(
        ANON,
        lambda w: {"email": "ivy@example.com", "name": "Ivy"},
        kwargs=lambda w: {"workspace_slug": w.workspace.slug, "form_slug": w.form.slug},
    ),
    "bookings:link_new": Case(
        OWNER, lambda w: {"title": "New", "slug": "csrf-new", "duration_minutes": "30", **availability()}
    ),
    "bookings:link_edit": Case(
        OWNER,
        lambda w: {"title": "Renamed", "slug": w.link.slug, "duration_minutes": "30", **availability()},
        kwargs=lambda w: {"link_id": w.link.pk},
    ),
    "routing:form_new": Case(ADMIN, lambda w: routing_form("Created by CSRF")),
    "routing:form_edit": Case(
        ADMIN, lambda w: routing_form("Renamed by CSRF"), kwargs=lambda w: {"form_id": w.form.pk}
    ),
    "notetaker:recap_edit": Case(
        OWNER,
        lambda w: {"summary": "rewritten", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0"},
        kwargs=lambda w: {"uid": w.booking.uid},
    ),
    "notetaker:recap_push": Case(OWNER, lambda w: {}, kwargs=lambda w: {"uid": w.booking.uid}),
    "salesforce:connect": Case(
        ADMIN, lambda w: {"environment": "sandbox", "confirm_replace": "on"}, effect="oauth_state"
    ),
    "salesforce:save_settings": Case(
        ADMIN, lambda w: {"object_scope": "events", "cancel_behaviour": "mark_closed", "no_match_behaviour": "skip"}
    ),
    "salesforce:mapping": Case(ADMIN, lambda w: {f"sf_user_{w.owner.pk}": w.org_user.sf_id}),
    # Refreshing reaches Salesforce, which is unreachable here: the control shows only "not 403".
    "salesforce:mapping_refresh": Case(ADMIN, lambda w: {}, effect="none"),
    "salesforce:disconnect": Case(ADMIN, lambda w: {"confirm": "on"}),
    "salesforce:link_toggle": Case(OWNER, lambda w: {"push_enabled": "off"}, kwargs=lambda w: {"link_id": w.link.pk}),
    "salesforce:health_retry": Case(
        ADMIN, lambda w: {"error_code": "FIELD_INTEGRITY_EXCEPTION"}, setup=failed_operation
    ),
}


def test_every_post_endpoint_has_a_csrf_case():
    """Derived from the URL matrix: any URL that accepts POST from someone needs a case here."""
    posting = {name for name, entry in MATRIX.items() if any(status != 405 for status in entry.post.values())}
    missing = posting - set(CASES) - {WEBHOOK}
    assert not missing, f"POST endpoint without a CSRF case: {sorted(missing)}"
    assert not set(CASES) - posting, "CSRF cases for URLs that take no POST"


@pytest.fixture
def permissions_ok(monkeypatch):
    """save_settings asks Salesforce for the user's permissions; say they are all there."""
    from integrations.salesforce import services

    monkeypatch.setattr(services, "connection_check_permissions", lambda **kwargs: [])


def session_state(client) -> dict:
    session = client.session
    return {"logged_in": LOGGED_IN in session, "oauth": oauth.SESSION_KEY in session}


@pytest.mark.parametrize("variant", ["no_token", "forged_token", "no_cookie"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_post_without_a_valid_token_is_refused_and_changes_nothing(world, permissions_ok, name, variant):
    case = CASES[name]
    case.setup(world)
    client, _ = world.client(case.role, csrf_cookie=variant != "no_cookie")
    data = case.data(world)
    if variant == "forged_token":
        data["csrfmiddlewaretoken"] = "f" * 32  # well-formed, but not the cookie's secret
    url = reverse(name, kwargs=case.kwargs(world))
    before, session_before = db_snapshot(), session_state(client)

    response = client.post(url, data)

    assert response.status_code == 403, f"POST {url} without a valid CSRF token: {response.status_code}"
    assert db_snapshot() == before
    assert session_state(client) == session_before


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_post_with_the_token_takes_effect(world, permissions_ok, name):
    """The control: the payloads above are not no-ops, so the 403s prove something."""
    case = CASES[name]
    case.setup(world)
    client, token = world.client(case.role)
    url = reverse(name, kwargs=case.kwargs(world))
    before = db_snapshot()

    response = client.post(url, {**case.data(world), "csrfmiddlewaretoken": token})

    assert response.status_code not in (403, 500), f"POST {url}: {response.status_code}"
    state = session_state(client)
    if case.effect == "db":
        assert db_snapshot() != before, f"POST {url} changed nothing; the CSRF case proves nothing"
    elif case.effect == "login":
        assert state["logged_in"]
    elif case.effect == "logout":
        assert not state["logged_in"]
    elif case.effect == "oauth_state":
        assert state["oauth"]


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("login", lambda w: {}),
        ("bookings:book", lambda w: {"workspace_slug": w.workspace.slug, "link_slug": w.link.slug}),
        # The booking page itself links to these two; they carry the forms (and the token).
        ("bookings:booking_reschedule", lambda w: {"uid": w.booking.uid}),
        ("bookings:booking_cancel", lambda w: {"uid": w.booking.uid}),
        ("routing:public_form", lambda w: {"workspace_slug": w.workspace.slug, "form_slug": w.form.slug}),
    ],
)
def test_public_pages_hand_the_browser_its_token(world, name, kwargs):
    """Invitees need nothing beyond loading the page: the page sets the cookie and the token."""
    client, _ = world.client(ANON, csrf_cookie=False)
    page = client.get(reverse(name, kwargs=kwargs(world)))
    assert page.status_code == 200
    assert "csrftoken" in page.cookies and form_token(page)


def test_a_public_form_posts_with_the_token_from_its_own_page(world):
    client, _ = world.client(ANON, csrf_cookie=False)
    url = reverse("bookings:book", kwargs={"workspace_slug": world.workspace.slug, "link_slug": world.link.slug})
    token = form_token(client.get(url))
    start = link_free_slots(world.link)[0].isoformat()

    response = client.post(
        url, {"name": "Ivy", "email": "ivy@example.com", "start": start, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302


# ---- the webhook: a signature instead of a token ------------------------------------------------------------
def recap_body(world, summary="From the notetaker") -> bytes:
    return json.dumps({"booking_uid": world.booking.uid, "summary": summary, "action_items": []}).encode()


@pytest.mark.parametrize(
    "headers,status",
    [
        ({}, 401),
        ({"HTTP_X_WORKESTRA_SIGNATURE": ""}, 401),
        ({"HTTP_X_WORKESTRA_SIGNATURE": "sha256=" + "0" * 64}, 403),
        ({"HTTP_X_WORKESTRA_SIGNATURE": "sha256=deadbeef"}, 401),  # malformed: not 64 hex digits
        ({"HTTP_X_WORKESTRA_SIGNATURE": "sign-with-wrong-secret"}, 403),
        ({"HTTP_X_WORKESTRA_SIGNATURE": "sign-other-body"}, 403),
    ],
    ids=["no-header", "empty", "zero-mac", "short-mac", "wrong-secret", "other-body"],
)
def test_the_webhook_refuses_unsigned_and_missigned_bodies(world, headers, status):
    client, _ = world.client(ANON)
    body = recap_body(world, "Overwritten by an attacker")
    if headers.get("HTTP_X_WORKESTRA_SIGNATURE") == "sign-with-wrong-secret":
        headers = {"HTTP_X_WORKESTRA_SIGNATURE": sign(body, "not-the-secret")}
    elif headers.get("HTTP_X_WORKESTRA_SIGNATURE") == "sign-other-body":
        headers = {"HTTP_X_WORKESTRA_SIGNATURE": sign(recap_body(world, "harmless"), WEBHOOK_SECRET)}
    before = db_snapshot()

    response = client.post(reverse(WEBHOOK), data=body, content_type="application/json", **headers)

    assert response.status_code == status
    assert "error" in response.json()
    assert db_snapshot() == before


def test_the_webhook_refuses_everything_when_no_secret_is_configured(world, settings):
    settings.NOTETAKER_WEBHOOK_SECRET = ""
    client, _ = world.client(ANON)
    body = recap_body(world)
    before = db_snapshot()

    # Signed with the empty key, as an attacker who guessed "no secret" would.
    response = client.post(
        reverse(WEBHOOK), data=body, content_type="application/json", HTTP_X_WORKESTRA_SIGNATURE=sign(body, "")
    )

    assert response.status_code == 503
    assert db_snapshot() == before


def test_a_signed_delivery_is_accepted(world):
    client, _ = world.client(ANON)
    body = recap_body(world, "Signed and accepted")

    response = client.post(
        reverse(WEBHOOK),
        data=body,
        content_type="application/json",
        HTTP_X_WORKESTRA_SIGNATURE=sign(body, WEBHOOK_SECRET),
    )

    assert response.status_code == 200 and response.json()["changed"] is True
    world.recap.refresh_from_db()
    assert world.recap.summary == "Signed and accepted"
