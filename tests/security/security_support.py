"""Shared pieces of the security suite: a target workspace with one object of every kind
("the world"), the roles that probe it, CSRF-enforcing clients, database snapshots and the
hostile strings. Fixtures that use these live in conftest.py beside this module."""

import html
import re
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db import connection as db_connection
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.html import strip_tags

from integrations.salesforce.models import SalesforceConnection, SalesforceUser
from notetaker.models import ActionItem, Recap
from routing import services as routing_services
from routing.models import Question, Route
from routing.rules import QuestionSpec, RouteSpec
from tests.fixtures.factories import (
    PASSWORD,
    make_booking,
    make_link,
    make_member,
    make_workspace,
)
from workestra.models import Membership, User

# ---- roles ---------------------------------------------------------------------------------
ANON, OTHER, MEMBER, OWNER, ADMIN, STAFF = "anonymous", "other_ws_admin", "member", "owner", "admin", "staff"
# The columns of the URL matrix. OTHER is an *admin* of another workspace (the strongest
# cross-tenant probe); OWNER is a non-admin member who owns the link and hosts the booking.
ROLES = (ANON, OTHER, MEMBER, OWNER, ADMIN)

# Distinctive words in the target workspace's data: a page served to someone outside it
# (other than the public pages) must contain none of them.
CANARIES = ("Zanzibar", "zanzibar", "Quokka", "quokka")
WEBHOOK_SECRET = "whsec-security-suite-" + "9" * 24
UNREACHABLE = "https://127.0.0.1:1"  # connection refused at once: no test ever reaches a real host

# ---- hostile strings -----------------------------------------------------------------------
SOQL_META = "O'Brien \" \\ % _ ' OR Name != '"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
BIG = "A" * 100_000
UNICODE = "\u202eevil\u202c Zoë 😀 مرحبا"
NUL = "before\x00after"
RAW_XSS_MARKERS = (XSS_SCRIPT, "<img src=x onerror", "<script>alert")
MALFORMED_STARTS = (
    "not a date",
    "2025-13-45T99:99:00+00:00",
    "2025-03-10T09:00:00",  # no offset
    "2025-03-10",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+14:00",
    "２０２５-03-10T09:00:00+00:00",
    "2025-03-10T09:00:00+00:00\x00",
    "1" * 5000,
    XSS_ATTR,
    SOQL_META,
    "",
)


@dataclass
class World:
    """The target workspace ("Zanzibar") and a second one ("Globex") whose admin probes it."""

    workspace: object
    admin: User
    member: User
    owner: User
    other_workspace: object
    other_admin: User
    staff: User
    link: object
    other_link: object
    booking: object
    form: object
    recap: Recap
    connection: SalesforceConnection
    org_user: SalesforceUser

    def user(self, role: str) -> User | None:
        return {
            ANON: None,
            OTHER: self.other_admin,
            MEMBER: self.member,
            OWNER: self.owner,
            ADMIN: self.admin,
            STAFF: self.staff,
        }[role]

    def client(self, role: str, *, csrf_cookie: bool = True) -> tuple[Client, str]:
        """A client that enforces CSRF like a browser, signed in as `role`, and the valid
        token for its cookie ("" without a cookie)."""
        client = Client(enforce_csrf_checks=True)
        user = self.user(role)
        if user is not None:
            client.force_login(user)
        token = ""
        if csrf_cookie:
            token = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
            client.cookies["csrftoken"] = token
        return client, token


def build_world() -> World:
    workspace = make_workspace("zanzibar", "Zanzibar Trading")
    admin = make_member(
        workspace, "admin@zanzibar.test", role=Membership.Role.ADMIN, first_name="Ada", last_name="Zanzibar"
    )
    member = make_member(workspace, "member@zanzibar.test", first_name="Milo", last_name="Zanzibar")
    owner = make_member(workspace, "owner@zanzibar.test", first_name="Olga", last_name="Zanzibar")
    other_workspace = make_workspace("globex", "Globex")
    other_admin = make_member(
        other_workspace, "admin@globex.test", role=Membership.Role.ADMIN, first_name="Gus", last_name="Globex"
    )
    staff = User.objects.create_superuser(email="support@workestra.test", password=PASSWORD)
    link = make_link(owner, slug="zanzibar-intro", title="Zanzibar intro", is_default=True)
    other_link = make_link(other_admin, slug="globex-intro", title="Globex intro", is_default=True)
    booking = make_booking(link, email="quentin@quokka.example", name="Quentin Quokka")
    form = routing_services.form_save(
        workspace=workspace,
        name="Zanzibar contact",
        slug="zanzibar-contact",
        questions=[
            QuestionSpec("name", "Your name", Question.Kind.SHORT_TEXT),
            QuestionSpec("email", "Work email", Question.Kind.EMAIL, required=True),
            QuestionSpec("company", "Company", Question.Kind.SHORT_TEXT),
        ],
        routes=[RouteSpec(Route.Action.BOOKING_LINK, link_id=link.pk, is_fallback=True)],
    )
    recap = Recap.objects.create(
        booking=booking, summary="Quokka wants a quote.", content_changed_at=timezone.now() - timedelta(hours=1)
    )
    ActionItem.objects.create(recap=recap, position=0, text="Send the Zanzibar quote")
    # A connected org on an unreachable instance: pages render "connected", and anything that
    # would call Salesforce fails at once instead of reaching a real host.
    connection = SalesforceConnection.objects.create(
        workspace=workspace,
        status=SalesforceConnection.Status.CONNECTED,
        object_scope=SalesforceConnection.ObjectScope.EVENTS_AND_NOTES,
        instance_url=UNREACHABLE,
        identity_url=UNREACHABLE + "/id/00D000000000001AAA/005000000000001AAA",
        org_id="00D000000000001AAA",
        sf_user_id="005000000000001AAA",
        sf_username="admin@zanzibar.example",
        sf_display_name="Ada Zanzibar",
        access_token="00Dfake!AQ-world-access-token-" + "x" * 40,
        refresh_token="5Aepfake-world-refresh-token-" + "y" * 40,
        connected_by=admin,
        connected_at=timezone.now(),
    )
    org_user = SalesforceUser.objects.create(
        connection=connection,
        sf_id="005000000000002AAA",
        username="olga.sales@zanzibar.example",
        email="olga.sales@zanzibar.example",
        name="Olga Sales",
    )
    return World(
        workspace,
        admin,
        member,
        owner,
        other_workspace,
        other_admin,
        staff,
        link,
        other_link,
        booking,
        form,
        recap,
        connection,
        org_user,
    )


# ---- observing the database ------------------------------------------------------------------
SNAPSHOT_APPS = ("workestra", "bookings", "routing", "notetaker", "salesforce")


def db_snapshot() -> dict:
    """Every row of every project model (heartbeats aside), for before/after comparisons."""
    snapshot = {}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.model_name == "workerheartbeat":
                continue
            snapshot[model._meta.label] = list(model.objects.order_by("pk").values())
    return snapshot


def raw_database_text() -> str:
    """Every column of every table as the database holds it (ciphertext stays ciphertext),
    plus the decoded session data: where a plaintext secret must never be found."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    parts = []
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db_connection.ops.quote_name(table)}")  # nosec B608 - table names from introspection
            parts.extend(repr(row) for row in cursor.fetchall())
    parts.extend(repr(SessionStore().decode(s.session_data)) for s in Session.objects.all())
    return "\n".join(parts)


# ---- reading responses ----------------------------------------------------------------------
def body(response) -> str:
    if getattr(response, "streaming", False):  # a CSV export: read it all
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def page_text(response) -> str:
    return " ".join(html.unescape(strip_tags(body(response))).split())


def assert_no_raw_markup(content: str, where: str) -> None:
    for marker in RAW_XSS_MARKERS:
        assert marker not in content, f"unescaped {marker!r} in {where}"


def form_token(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body(response))
    assert match, "the page carries no CSRF token"
    return match.group(1)
