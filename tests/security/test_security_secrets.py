"""Secrets never reach logs, pages, the admin, the database in plaintext, reprs, or debug pages.

The secrets: every OAuth access and refresh token a connection ever held (initial, refreshed,
reconnected), the OAuth client secret, the authorization code and PKCE verifier of each
connect, NOTETAKER_WEBHOOK_SECRET and the Fernet keys of TOKEN_ENCRYPTION_KEYS.
"""

import json
import logging
import pprint
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection as db
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response

from bookings.availability import link_free_slots
from integrations.salesforce import oauth
from integrations.salesforce.client import OAuthClient
from integrations.salesforce.crypto import Secret
from integrations.salesforce.drain import drain
from integrations.salesforce.models import (
    BookingSync,
    SalesforceConnection,
    SyncOperation,
)
from notetaker.webhook import sign
from sfdc_emulator import seed
from tests.fixtures.emulator import sign_in_and_consent
from tests.fixtures.salesforce import LOCAL_CLIENT_SECRET, connect_workspace, make_team
from tests.security.security_support import WEBHOOK_SECRET, body, raw_database_text
from workestra.logging import RedactSecretsFilter

pytestmark = [pytest.mark.django_db]
BASE = "/settings/integrations/salesforce/"
PLAIN_FORMAT = settings.LOGGING["formatters"]["plain"]["format"]


class Capture(logging.Handler):
    """Formats every record as the console handler would (RedactSecretsFilter + the plain
    format), or, with redact=False, as the record arrived (message, extras, traceback)."""

    def __init__(self, redact: bool):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if redact:
            self.addFilter(RedactSecretsFilter())
            self.setFormatter(logging.Formatter(PLAIN_FORMAT))
        self.redact = redact

    def emit(self, record):
        if self.redact:
            self.lines.append(self.format(record))
            return
        extras = {k: v for k, v in vars(record).items() if k not in vars(logging.makeLogRecord({}))}
        trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else (record.exc_text or "")
        self.lines.append(f"{record.name} {record.getMessage()} {extras!r} {trace}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs():
    """The project's logging config, at LOG_LEVEL=DEBUG (the most an operator can turn on),
    with the capture handlers attached to the root logger. The raw one goes first: the console
    handler's filter rewrites records in place."""
    root = logging.getLogger()
    raw, redacted = Capture(redact=False), Capture(redact=True)
    level = root.level
    root.handlers.insert(0, raw)
    root.addHandler(redacted)
    root.setLevel(logging.DEBUG)
    try:
        yield raw, redacted
    finally:
        root.removeHandler(raw)
        root.removeHandler(redacted)
        root.setLevel(level)


class Secrets:
    def __init__(self):
        self.values: dict[str, str] = {
            "client secret": LOCAL_CLIENT_SECRET,
            "webhook secret": WEBHOOK_SECRET,
            **{f"fernet key {n}": key for n, key in enumerate(settings.TOKEN_ENCRYPTION_KEYS)},
        }

    def add(self, label: str, value: str) -> None:
        if value and value not in self.values.values():
            self.values[f"{label} #{len(self.values)}"] = value

    def remember_tokens(self, workspace) -> SalesforceConnection | None:
        connection = SalesforceConnection.objects.filter(workspace=workspace).first()
        if connection is not None:
            self.add("access token", str(connection.access_token))
            self.add("refresh token", str(connection.refresh_token))
        return connection

    def found_in(self, text: str) -> list[str]:
        return [label for label, value in self.values.items() if value in text]


def connect_via_views(client, emulator, secrets: Secrets, replace=False):
    data = {"environment": "production", **({"confirm_replace": "on"} if replace else {})}
    authorize_url = client.post(BASE + "connect/", data)["Location"]
    secrets.add("pkce verifier", client.session[oauth.SESSION_KEY]["verifier"])
    location = urlsplit(sign_in_and_consent(emulator, authorize_url, seed.ADMIN))
    secrets.add("authorization code", parse_qs(location.query)["code"][0])
    response = client.get(f"{location.path}?{location.query}", follow=True)
    assert "Connected as" in body(response)


def book(link, email="jane.roe@globex.com", slot=0) -> str:
    client = Client()
    start = link_free_slots(link)[slot].isoformat()
    response = client.post(
        f"/book/{link.workspace.slug}/{link.slug}/", {"name": "Jane Roe", "email": email, "start": start}
    )
    assert response.status_code == 302, body(response)[:500]
    return urlsplit(response["Location"]).path.split("/")[2]


def drain_all(connection):
    for _ in range(20):
        drain(connection.pk)
        busy = SyncOperation.objects.filter(
            connection=connection, state__in=(SyncOperation.State.PENDING, SyncOperation.State.IN_PROGRESS)
        )
        if not busy.exists():
            return


def pages(team, staff_client, admin_client, host_client, booking_uid) -> dict[str, str]:
    """Every page where a connection, its operations or its errors are shown."""
    connection = SalesforceConnection.objects.get(workspace=team.workspace)
    operation = SyncOperation.objects.filter(connection=connection).order_by("-pk").first()
    sync = BookingSync.objects.filter(workspace=team.workspace).first()
    link = team.links["alice"]
    urls = {
        admin_client: [
            BASE,
            BASE + "mapping/",
            "/calendar/?all=1",
            f"/bookings/{booking_uid}/",
            f"/links/{link.pk}/integrations/",
            "/healthz",
        ],
        host_client: ["/calendar/", f"/bookings/{booking_uid}/", f"/links/{link.pk}/integrations/", BASE],
        staff_client: [
            "/admin/salesforce/salesforceconnection/",
            f"/admin/salesforce/salesforceconnection/{connection.pk}/change/",
            f"/admin/salesforce/salesforceconnection/{connection.pk}/history/",
            f"/admin/salesforce/salesforceconnection/{connection.pk}/health/",
            "/admin/salesforce/syncoperation/",
            "/admin/salesforce/syncoperation/?q=token",
            "/admin/salesforce/bookingsync/",
            "/admin/salesforce/salesforceuser/",
            "/admin/notetaker/recap/",
        ]
        + ([f"/admin/salesforce/syncoperation/{operation.pk}/change/"] if operation else [])
        + ([f"/admin/salesforce/bookingsync/{sync.pk}/change/"] if sync else []),
    }
    # Connections are rows the OAuth flow writes: support has no delete page for them.
    assert staff_client.get(f"/admin/salesforce/salesforceconnection/{connection.pk}/delete/").status_code == 403
    rendered = {}
    for client, paths in urls.items():
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.status_code}"
            rendered[path] = body(response)
    return rendered


@pytest.mark.emulator
def test_no_secret_in_logs_pages_admin_or_database(sf_settings, sfdc_emulator, logs):
    raw_logs, console = logs
    sf_settings.NOTETAKER_WEBHOOK_SECRET = WEBHOOK_SECRET
    team = make_team(sfdc_emulator, connect=False)
    secrets = Secrets()
    admin_client, host_client, staff_client = Client(), Client(), Client()
    admin_client.force_login(team.admin)
    host_client.force_login(team.users["alice"])
    from django.contrib.auth import get_user_model

    staff_client.force_login(get_user_model().objects.create_superuser(email="support@workestra.test", password="x"))

    # connect (OAuth through the views), then Events + Notes
    connect_via_views(admin_client, sfdc_emulator, secrets)
    connection = secrets.remember_tokens(team.workspace)
    assert (
        admin_client.post(
            BASE + "settings/",
            {"object_scope": "events_notes", "cancel_behaviour": "delete", "no_match_behaviour": "create"},
        ).status_code
        == 302
    )

    # a booking, pushed after the access token expired (401 -> refresh -> retry)
    uid = book(team.links["alice"])
    sfdc_emulator.control.expire_tokens()
    drain_all(connection)
    secrets.remember_tokens(team.workspace)
    assert SyncOperation.objects.filter(connection=connection, state=SyncOperation.State.PUSHED).exists()

    # a recap from the notetaker, pushed as Notes
    delivery = json.dumps({"booking_uid": uid, "summary": "Jane wants a quote.", "action_items": []}).encode()
    webhook = Client().post(
        "/api/notetaker/recaps/",
        data=delivery,
        content_type="application/json",
        HTTP_X_WORKESTRA_SIGNATURE=sign(delivery, WEBHOOK_SECRET),
    )
    assert webhook.status_code == 201
    drain_all(connection)

    rendered = pages(team, staff_client, admin_client, host_client, uid)

    # the refresh token is revoked: the next push flips the connection to "needs reconnect"
    sfdc_emulator.control.revoke_tokens()
    sfdc_emulator.control.expire_tokens()
    second = book(team.links["alice"], email="nobody@nowhere.example", slot=1)
    drain_all(connection)
    connection.refresh_from_db()
    assert connection.status == SalesforceConnection.Status.NEEDS_RECONNECT

    # reconnect (waiting pushes replay), render again, then disconnect
    connect_via_views(admin_client, sfdc_emulator, secrets, replace=True)
    connection = secrets.remember_tokens(team.workspace)
    drain_all(connection)
    rendered |= {
        f"{path} (after reconnect)": html
        for path, html in pages(team, staff_client, admin_client, host_client, second).items()
    }
    assert admin_client.post(BASE + "disconnect/", {"confirm": "on"}).status_code == 302
    rendered |= {
        f"{path} (after disconnect)": html
        for path, html in pages(team, staff_client, admin_client, host_client, second).items()
    }

    tokens = [label for label in secrets.values if "token" in label]
    assert len(tokens) >= 4, f"the sequence should have seen several tokens: {tokens}"
    assert console.lines and raw_logs.lines
    assert not secrets.found_in(console.text), "a secret reached the console log"
    leaked_pages = {path: secrets.found_in(html) for path, html in rendered.items() if secrets.found_in(html)}
    assert not leaked_pages, f"secrets on pages: {leaked_pages}"
    assert not secrets.found_in(raw_database_text()), "a secret is stored in plaintext"
    # Defence in depth: the redaction filter is a safety net (it only knows the tokens it has
    # decrypted, not the client secret, webhook secret or keys): no secret even reaches a record.
    before_redaction = secrets.found_in(raw_logs.text)
    assert not before_redaction, f"secrets in log records before redaction: {before_redaction}"


@pytest.mark.emulator
def test_tokens_are_ciphertext_at_rest_and_hidden_in_reprs(workspace, admin_user, sf_settings, sfdc_emulator):
    connection = connect_workspace(workspace, admin_user, sfdc_emulator)
    access, refresh = str(connection.access_token), str(connection.refresh_token)
    table = db.ops.quote_name(SalesforceConnection._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT access_token, refresh_token FROM {table} WHERE id = %s", [connection.pk])  # nosec B608 - quoted model table
        stored_access, stored_refresh = cursor.fetchone()

    for stored, plain in ((stored_access, access), (stored_refresh, refresh)):
        assert plain not in stored and stored.startswith("gAAAAA")  # a Fernet token
        assert Fernet(settings.TOKEN_ENCRYPTION_KEYS[0].encode()).decrypt(stored.encode()).decode() == plain
    for value in (connection.access_token, connection.refresh_token):
        assert isinstance(value, Secret)
        assert repr(value) == "Secret('[redacted]')" and "%r" % value == "Secret('[redacted]')"  # noqa: UP031 - %-formatting is what is tested
    described = (
        repr(connection)
        + str(connection)
        + pprint.pformat(vars(connection))
        + pprint.pformat(vars(connection), width=20)
    )
    assert access not in described and refresh not in described


def test_a_debug_page_hides_a_secret_in_a_local_variable(settings):
    """Every frame of the traceback (this test's too) holds the token only as a Secret."""
    settings.DEBUG = True
    secret = Secret("00Dsecret!" + "t" * 50)

    def failing_push(access_token):
        connection_token = access_token  # noqa: F841 - what the debug page must not print
        raise RuntimeError("Salesforce said no")

    try:
        failing_push(secret)
    except RuntimeError:
        response = technical_500_response(RequestFactory().get("/"), *sys.exc_info())

    page = body(response)
    assert "Salesforce said no" in page and "Secret(&#x27;[redacted]&#x27;)" in page
    assert str.__str__(secret) not in page


def test_a_debug_page_hides_the_settings_secrets(settings):
    settings.DEBUG = True
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        page = body(technical_500_response(RequestFactory().get("/"), *sys.exc_info()))
    for value in (
        settings.SALESFORCE_CLIENT_SECRET,
        settings.NOTETAKER_WEBHOOK_SECRET,
        *settings.TOKEN_ENCRYPTION_KEYS,
    ):
        assert value not in page


CRASH_TOKEN = {
    "access_token": "00Dleaked!" + "a" * 40,
    "refresh_token": "5Aepleaked" + "r" * 40,
    "instance_url": "https://127.0.0.1:1",
    "id": "https://127.0.0.1:1/id/00D/005",
}


@pytest.fixture
def crash_after_code_exchange(client, admin_user, monkeypatch):
    """An unexpected exception (a KeyError) after the code exchange, in the callback request."""

    def exchange_code(self, *, code, code_verifier):
        return dict(CRASH_TOKEN)

    def identity(self, *, identity_url, access_token):
        raise KeyError("organization_id")

    monkeypatch.setattr(OAuthClient, "exchange_code", exchange_code)
    monkeypatch.setattr(OAuthClient, "identity", identity)
    client.raise_request_exception = False
    client.force_login(admin_user)
    client.post(BASE + "connect/", {"environment": "production"})
    return lambda: client.get(
        BASE + "callback/", {"code": "aPrxcode", "state": client.session[oauth.SESSION_KEY]["state"]}
    )


def test_the_error_report_of_a_crash_during_connect_shows_no_token(crash_after_code_exchange, settings):
    """Production (DEBUG off): the HTML error report (AdminEmailHandler(include_html=True), or an
    error tracker using Django's reporter) lists every frame's locals; the callback's
    @sensitive_variables cleanses the tokens in all frames below it."""
    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    settings.DEBUG = False
    reports = []

    def report(sender, request, **kwargs):
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_html())

    got_request_exception.connect(report)
    try:
        response = crash_after_code_exchange()
    finally:
        got_request_exception.disconnect(report)

    assert response.status_code == 500 and "00Dleaked" not in body(response)
    assert len(reports) == 1 and "connection_save_tokens" in reports[0] and "KeyError" in reports[0]
    assert CRASH_TOKEN["access_token"] not in reports[0] and CRASH_TOKEN["refresh_token"] not in reports[0]


def test_a_debug_page_after_a_crash_during_connect_shows_no_token(crash_after_code_exchange, settings):
    settings.DEBUG = True

    response = crash_after_code_exchange()

    assert response.status_code == 500
    assert CRASH_TOKEN["access_token"] not in body(response) and CRASH_TOKEN["refresh_token"] not in body(response)


def test_the_console_filter_redacts_a_decrypted_token_wherever_it_appears(settings):
    """The safety net under the rule "never log a token": once a token has been decrypted, the
    console handler's filter removes it from the message, its args, extras and the traceback."""
    from integrations.salesforce.crypto import decrypt, encrypt

    token = decrypt(encrypt("00Dnetcheck!" + "n" * 40))
    handler = Capture(redact=True)
    logger = logging.getLogger("tests.security.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad session {token}")
        except ValueError:
            logger.exception("refresh %s failed", token, extra={"token": token})
    finally:
        logger.removeHandler(handler)

    assert token not in handler.text
    assert handler.text.count("[redacted]") >= 3
