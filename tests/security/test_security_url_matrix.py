"""Every URL of the URLconf, probed by every role with GET and POST.

The table below is the access-control specification. A URL pattern without an entry fails
the suite ("new URL without a security entry"), so a new view cannot ship unreviewed.

Columns: anonymous, an admin of ANOTHER workspace, a non-admin member of the target workspace,
the non-admin member who owns the link / hosts the booking, a workspace admin. Path parameters
are real objects of the target workspace. POSTs carry a valid CSRF token (the CSRF module
checks the token itself) and no other data: the matrix is about who gets in, not what they send.

LOGIN means "302 to /accounts/login/?next=<path>". Cross-tenant reads of a workspace's objects
are 404, a member on an admin-only page 403; never a 500. Whenever a request is refused, the
database is unchanged. Outside the public invitee pages (where the booking uid or the slugs are
the capability, whoever holds them), a request of the other workspace's admin changes nothing
and no word of the target workspace's data is in the answer.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.security_support import (
    ADMIN,
    ANON,
    CANARIES,
    MEMBER,
    OTHER,
    OWNER,
    ROLES,
    STAFF,
    body,
    db_snapshot,
)

LOGIN = "login"
DENIED = {LOGIN, 403, 404, 405}


def row(anon, other, member, owner, admin_):
    return dict(zip(ROLES, (anon, other, member, owner, admin_)))  # noqa: B905


def every(status):
    return row(status, status, status, status, status)


def no_args(world):
    return {}


@dataclass(frozen=True)
class Entry:
    get: dict
    post: dict
    kwargs: Callable = no_args
    public: bool = False  # an invitee page: anyone may see the target workspace's data there
    note: str = field(default="", compare=False)


def link_id(w):
    return {"link_id": w.link.pk}


def booking_uid(w):
    return {"uid": w.booking.uid}


def form_id(w):
    return {"form_id": w.form.pk}


#                                         anon   other  member owner  admin
MEMBER_PAGE = row(LOGIN, 200, 200, 200, 200)  # the other admin sees their own workspace's page
ADMIN_PAGE = row(LOGIN, 200, 403, 403, 200)
OBJECT_OF_OWNER = row(LOGIN, 404, 403, 200, 200)
OBJECT_OF_ADMIN = row(LOGIN, 404, 403, 403, 200)

MATRIX: dict[str, Entry] = {
    # ---- site ----------------------------------------------------------------------------------
    "home": Entry(get=every(302), post=every(405)),
    "healthz": Entry(get=every(200), post=every(405), public=True),
    "login": Entry(get=row(200, 302, 302, 302, 302), post=row(200, 302, 302, 302, 302)),
    "logout": Entry(get=every(405), post=every(302)),
    # ---- invitee pages: the booking uid is the capability; no login -----------------------------
    "bookings:book": Entry(
        get=every(200),
        post=every(400),
        public=True,
        kwargs=lambda w: {"workspace_slug": w.workspace.slug, "link_slug": w.link.slug},
    ),
    "bookings:booking_detail": Entry(get=every(200), post=every(405), kwargs=booking_uid, public=True),
    "bookings:booking_reschedule": Entry(
        get=every(200), post=every(400), kwargs=booking_uid, public=True, note="GET = the grid; only POST moves"
    ),
    "bookings:booking_cancel": Entry(
        get=every(200),
        post=every(302),
        kwargs=booking_uid,
        public=True,
        note="GET = the confirm page; only POST cancels",
    ),
    "bookings:booking_ics": Entry(get=every(200), post=every(405), kwargs=booking_uid, public=True),
    # The styled "This link isn't available" page for any other public address.
    "unavailable:booking_link": Entry(
        get=every(404), post=every(405), kwargs=lambda w: {"rest": "acme/intro/extra/"}, public=True
    ),
    "unavailable:booking": Entry(get=every(404), post=every(405), kwargs=lambda w: {"rest": "cut/"}, public=True),
    "unavailable:routing_form": Entry(
        get=every(404), post=every(405), kwargs=lambda w: {"rest": "acme/nope/x/"}, public=True
    ),
    "routing:public_form": Entry(
        get=every(200),
        post=every(400),
        public=True,
        kwargs=lambda w: {"workspace_slug": w.workspace.slug, "form_slug": w.form.slug},
    ),
    # ---- members ---------------------------------------------------------------------------------
    "bookings:calendar": Entry(get=MEMBER_PAGE, post=every(405)),
    "bookings:booking_for_member": Entry(
        get=row(LOGIN, 404, 403, 302, 302),
        post=every(405),
        kwargs=lambda w: {"booking_id": w.booking.pk},
        note="the link written into Salesforce; 302 = to the booking's page",
    ),
    "bookings:link_list": Entry(get=MEMBER_PAGE, post=every(405)),
    "bookings:link_new": Entry(get=MEMBER_PAGE, post=row(LOGIN, 400, 400, 400, 400)),
    "bookings:link_edit": Entry(get=OBJECT_OF_OWNER, post=row(LOGIN, 404, 403, 400, 400), kwargs=link_id),
    "bookings:link_integrations": Entry(get=OBJECT_OF_OWNER, post=every(405), kwargs=link_id),
    # ---- routing builder: admins only --------------------------------------------------------------
    "routing:form_list": Entry(get=ADMIN_PAGE, post=every(405)),
    "routing:form_new": Entry(get=ADMIN_PAGE, post=row(LOGIN, 400, 403, 403, 400)),
    "routing:form_edit": Entry(get=OBJECT_OF_ADMIN, post=row(LOGIN, 404, 403, 403, 400), kwargs=form_id),
    "routing:form_submissions": Entry(get=OBJECT_OF_ADMIN, post=every(405), kwargs=form_id),
    # ---- notetaker ------------------------------------------------------------------------------------
    "notetaker:recap_webhook": Entry(get=every(405), post=every(401), public=True, note="HMAC-signed; unsigned is 401"),
    "notetaker:recap_edit": Entry(get=OBJECT_OF_OWNER, post=row(LOGIN, 404, 403, 400, 400), kwargs=booking_uid),
    "notetaker:recap_push": Entry(get=every(405), post=row(LOGIN, 404, 403, 302, 302), kwargs=booking_uid),
    # ---- Salesforce settings: members see status, admins change the connection ---------------------------
    "salesforce:settings": Entry(get=MEMBER_PAGE, post=every(405)),
    # The other admin acts on their own (unconnected) workspace: a redirect with a message.
    "salesforce:connect": Entry(get=every(405), post=row(LOGIN, 302, 403, 403, 302)),
    "salesforce:callback": Entry(get=row(LOGIN, 302, 403, 403, 302), post=every(405)),
    "salesforce:save_settings": Entry(get=every(405), post=row(LOGIN, 302, 403, 403, 400)),
    "salesforce:mapping": Entry(get=MEMBER_PAGE, post=row(LOGIN, 302, 403, 403, 302)),
    "salesforce:mapping_refresh": Entry(get=every(405), post=row(LOGIN, 302, 403, 403, 302)),
    "salesforce:disconnect": Entry(get=every(405), post=row(LOGIN, 302, 403, 403, 200), note="200 = the confirm page"),
    "salesforce:link_toggle": Entry(get=every(405), post=row(LOGIN, 404, 403, 400, 400), kwargs=link_id),
    # Sync health: the other admin retries / exports their own (empty) workspace, never the target's.
    "salesforce:health_retry": Entry(
        get=every(405), post=row(LOGIN, 302, 403, 403, 302), note="302 = back to the settings page"
    ),
    "salesforce:health_export": Entry(
        get=row(LOGIN, 200, 403, 403, 200), post=every(405), note="200 = the CSV of the last 30 days"
    ),
}


# ---- walking the URLconf ---------------------------------------------------------------------------------
def url_patterns(patterns=None, prefix="", namespace=""):
    """(name, route, namespace) of every pattern, recursively."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield name, prefix + str(pattern.pattern), namespace


def test_every_url_pattern_has_a_security_entry():
    found = list(url_patterns())
    missing = [
        f"{name or '(unnamed)'} -> /{route}"
        for name, route, ns in found
        if ns.split(":")[0] != "admin" and name not in MATRIX
    ]
    assert not missing, "new URL without a security entry: " + "; ".join(missing)
    stale = set(MATRIX) - {name for name, _, _ in found}
    assert not stale, f"security entries for URLs that no longer exist: {sorted(stale)}"
    assert any(ns == "admin" for _, _, ns in found), "the admin family is expected under /admin/"


# ---- the matrix --------------------------------------------------------------------------------------------
CASES = [(name, method, role) for name in MATRIX for method in ("get", "post") for role in ROLES]


def assert_status(response, expected, url):
    where = f"{response.request['REQUEST_METHOD']} {url}"
    assert response.status_code != 500, f"500 on {where}"
    if expected == LOGIN:
        assert response.status_code == 302, f"{where}: {response.status_code}, expected a login redirect"
        assert response["Location"].startswith("/accounts/login/?next="), f"{where} -> {response['Location']}"
    else:
        assert response.status_code == expected, f"{where}: {response.status_code}, expected {expected}"


@pytest.mark.parametrize("name,method,role", CASES, ids=[f"{n}-{m}-{r}" for n, m, r in CASES])
def test_url_matrix(world, name, method, role):
    entry = MATRIX[name]
    expected = getattr(entry, method)[role]
    client, token = world.client(role)
    url = reverse(name, kwargs=entry.kwargs(world))
    before = db_snapshot()

    response = client.get(url) if method == "get" else client.post(url, {"csrfmiddlewaretoken": token})

    assert_status(response, expected, url)
    if expected in DENIED or (role == OTHER and not entry.public):
        assert db_snapshot() == before, f"{method.upper()} {url} as {role} changed the database"
    if role in (OTHER, ANON) and not entry.public:
        leaked = [word for word in CANARIES if word in body(response)]
        assert not leaked, f"{method.upper()} {url} as {role} shows the target workspace's data: {leaked}"


# ---- /admin/: one family -------------------------------------------------------------------------------------
def admin_urls(world) -> list[str]:
    """The index, every registered model's changelist, and a change page where an object exists."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_for_staff_only(world, role):
    """Workspace admins are not Django staff: every admin page sends them (and everyone else
    outside support) to the admin's login page, for GET and POST alike."""
    client, token = world.client(role)
    before = db_snapshot()
    for url in admin_urls(world):
        for response in (
            client.get(url),
            client.post(url, {"csrfmiddlewaretoken": token, "action": "delete_selected"}),
        ):
            assert response.status_code == 302, f"{url} as {role}: {response.status_code}"
            assert response["Location"].startswith(reverse("admin:login") + "?next="), f"{url} as {role}"
    assert db_snapshot() == before


def test_admin_serves_support_staff(world):
    client, _ = world.client(STAFF)
    for url in admin_urls(world):
        response = client.get(url)
        assert response.status_code == 200, f"{url} as staff: {response.status_code}"


def test_admin_posts_need_a_csrf_token(world):
    client, _ = world.client(STAFF)  # cookie set, token withheld
    url = reverse("admin:salesforce_salesforceconnection_changelist")
    before = db_snapshot()

    response = client.post(url, {"action": "mark_for_reconnect", "_selected_action": [world.connection.pk]})

    assert response.status_code == 403
    assert db_snapshot() == before


# ---- what the matrix implies, stated once more in words ------------------------------------------------------
def test_a_link_toggle_is_only_for_its_owner_or_an_admin(world):
    url = reverse("salesforce:link_toggle", kwargs={"link_id": world.link.pk})
    for role, expected in ((MEMBER, 403), (OTHER, 404), (OWNER, 302), (ADMIN, 302)):
        client, token = world.client(role)
        response = client.post(url, {"csrfmiddlewaretoken": token, "push_enabled": "off"})
        assert response.status_code == expected, role
    assert world.link.salesforce_setting.push_enabled is False
    assert world.link.salesforce_setting.updated_by in (world.owner, world.admin)


def test_the_other_workspace_cannot_toggle_or_edit_by_guessing_ids(world):
    """Ids are sequential; every id of the target workspace is a 404 for the other admin."""
    client, token = world.client(OTHER)
    before = db_snapshot()
    for url in (
        reverse("bookings:link_edit", kwargs={"link_id": world.link.pk}),
        reverse("bookings:link_integrations", kwargs={"link_id": world.link.pk}),
        reverse("routing:form_edit", kwargs={"form_id": world.form.pk}),
        reverse("routing:form_submissions", kwargs={"form_id": world.form.pk}),
        reverse("notetaker:recap_edit", kwargs={"uid": world.booking.uid}),
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (reverse("salesforce:link_toggle", kwargs={"link_id": world.link.pk}), {"push_enabled": "off"}),
        (reverse("notetaker:recap_push", kwargs={"uid": world.booking.uid}), {}),
        (
            reverse("notetaker:recap_edit", kwargs={"uid": world.booking.uid}),
            {"summary": "hijacked", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0"},
        ),
    ):
        assert client.post(url, {"csrfmiddlewaretoken": token, **data}).status_code == 404, url
    assert client.get(reverse("bookings:calendar"), {"all": "1"}).status_code == 200
    assert db_snapshot() == before


def test_members_see_only_their_own_calendar_unless_admin(world):
    member, _ = world.client(MEMBER)
    admin_client, _ = world.client(ADMIN)
    assert "Quokka" not in body(member.get(reverse("bookings:calendar"), {"all": "1"}))
    assert "Quokka" in body(admin_client.get(reverse("bookings:calendar"), {"all": "1"}))


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "https:evil.example", "javascript:alert(1)"],
)
def test_signing_in_never_redirects_off_site(world, target):
    from django.conf import settings

    from tests.fixtures.factories import PASSWORD

    client, token = world.client(ANON)
    response = client.post(
        reverse("login") + "?next=" + target,
        {"username": world.admin.email, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
