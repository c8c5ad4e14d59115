"""The OAuth web-server flow, driven with requests-oauthlib (PKCE S256) over real TLS."""

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauthlib.oauth2 import InvalidGrantError
from requests_oauthlib import OAuth2Session

from sfdc_emulator import seed
from tests.fixtures.emulator import DEFAULT_REDIRECT_URI, emulator_oauth_tokens, sign_in_and_consent

pytestmark = pytest.mark.emulator

TOKEN_FIELDS = {"access_token", "refresh_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}


def _start(emulator, sandbox=False, username=seed.ADMIN, decision="allow", redirect_uri=DEFAULT_REDIRECT_URI):
    login = emulator.sandbox_login_url if sandbox else emulator.login_url
    oauth = OAuth2Session(seed.CLIENT_ID, redirect_uri=redirect_uri, scope=list(seed.DEFAULT_SCOPES), pkce="S256")
    url, state = oauth.authorization_url(f"{login}/services/oauth2/authorize")
    callback = sign_in_and_consent(emulator, url, username, decision=decision)
    return oauth, state, parse_qs(urlsplit(callback).query), login


def _token_post(emulator, login, **form):
    return requests.post(f"{login}/services/oauth2/token", data=form, timeout=10)


def test_full_flow_with_pkce_returns_salesforces_exact_token_fields(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)

    raw = {k: v for k, v in token.items() if k != "expires_at"}
    assert set(raw) == TOKEN_FIELDS
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == sfdc_emulator.base_url
    admin_id = seed.USER_IDS[seed.ADMIN]
    assert token["id"] == f"{sfdc_emulator.base_url}/id/{seed.PRODUCTION_ORG_ID}/{admin_id}"
    assert token["issued_at"].isdigit() and abs(int(token["issued_at"]) / 1000 - time.time()) < 60
    expected = base64.b64encode(
        hmac.new(seed.CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256).digest()
    ).decode()
    assert token["signature"] == expected


def test_token_request_with_client_credentials_in_the_body(sfdc_emulator):
    oauth, state, params, login = _start(sfdc_emulator)

    response = _token_post(
        sfdc_emulator,
        login,
        grant_type="authorization_code",
        code=params["code"][0],
        client_id=seed.CLIENT_ID,
        client_secret=seed.CLIENT_SECRET,
        redirect_uri=DEFAULT_REDIRECT_URI,
        code_verifier=oauth._code_verifier,
    )

    assert response.status_code == 200
    assert set(response.json()) == TOKEN_FIELDS
    assert params["state"] == [state]


@pytest.mark.parametrize(
    "change, error, description",
    [
        ({"code_verifier": "x" * 43}, "invalid_grant", "invalid code verifier"),
        ({"code_verifier": None}, "invalid_grant", "invalid code verifier"),
        (
            {"redirect_uri": "http://localhost:9999" + seed.CALLBACK_PATH},
            "invalid_grant",
            "redirect_uri must match configuration",
        ),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"code": "aPrxNotACode"}, "invalid_grant", "invalid authorization code"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_token_request_errors(sfdc_emulator, change, error, description):
    oauth, _, params, login = _start(sfdc_emulator)
    form = {
        "grant_type": "authorization_code",
        "code": params["code"][0],
        "client_id": seed.CLIENT_ID,
        "client_secret": seed.CLIENT_SECRET,
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "code_verifier": oauth._code_verifier,
    }
    form.update(change)

    response = _token_post(sfdc_emulator, login, **{k: v for k, v in form.items() if v is not None})

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_code_is_single_use(sfdc_emulator):
    oauth, _, params, login = _start(sfdc_emulator)
    token_url = f"{login}/services/oauth2/token"
    oauth.fetch_token(token_url, code=params["code"][0], client_secret=seed.CLIENT_SECRET)

    with pytest.raises(InvalidGrantError, match="invalid authorization code"):
        oauth.fetch_token(token_url, code=params["code"][0], client_secret=seed.CLIENT_SECRET)


def test_expired_code(sfdc_emulator):
    sfdc_emulator.control.set_settings(code_ttl_seconds=0)
    oauth, _, params, login = _start(sfdc_emulator)
    time.sleep(0.05)

    with pytest.raises(InvalidGrantError, match="expired authorization code"):
        oauth.fetch_token(f"{login}/services/oauth2/token", code=params["code"][0], client_secret=seed.CLIENT_SECRET)


def test_deny_at_consent_redirects_with_access_denied(sfdc_emulator):
    _, state, params, _ = _start(sfdc_emulator, decision="deny")

    assert params == {
        "error": ["access_denied"],
        "error_description": ["end-user denied authorization"],
        "state": [state],
    }


@pytest.mark.parametrize(
    "username, password, message",
    [
        (seed.ALICE, "wrong", "Please check your username and password"),
        (seed.FORMER, seed.PASSWORD, "inactive"),
    ],
)
def test_sign_in_errors_stay_on_the_page(sfdc_emulator, username, password, message):
    url = (
        f"{sfdc_emulator.login_url}/services/oauth2/authorize?response_type=code&client_id="
        f"{seed.CLIENT_ID}&redirect_uri={DEFAULT_REDIRECT_URI}"
    )

    with pytest.raises(AssertionError, match=message):
        sign_in_and_consent(sfdc_emulator, url, username, password)


def test_unknown_redirect_uri_shows_an_error_page_and_never_redirects(sfdc_emulator):
    response = requests.get(
        f"{sfdc_emulator.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": seed.CLIENT_ID,
            "redirect_uri": "https://evil.example" + seed.CALLBACK_PATH,
        },
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 400
    assert "redirect_uri_mismatch" in response.text
    assert "Location" not in response.headers


def test_sign_in_page_lists_users_and_escapes_parameters(sfdc_emulator):
    response = requests.get(
        f"{sfdc_emulator.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": seed.CLIENT_ID,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "state": '"><script>alert(1)</script>',
        },
        timeout=10,
    )

    assert response.status_code == 200
    assert "noapi@acme.test" in response.text and seed.PASSWORD in response.text
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


def test_refresh_gives_a_new_access_token_and_no_new_refresh_token(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)
    oauth = OAuth2Session(seed.CLIENT_ID, token=token)

    refreshed = oauth.refresh_token(
        f"{sfdc_emulator.login_url}/services/oauth2/token", client_id=seed.CLIENT_ID, client_secret=seed.CLIENT_SECRET
    )

    raw = _token_post(
        sfdc_emulator,
        sfdc_emulator.login_url,
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
        client_id=seed.CLIENT_ID,
    ).json()
    assert "refresh_token" not in raw and set(raw) == TOKEN_FIELDS - {"refresh_token"}
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]  # kept by requests-oauthlib
    assert _identity(sfdc_emulator, refreshed).status_code == 200


def test_revoked_refresh_token_gives_invalid_grant(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)

    revoked = requests.post(
        f"{sfdc_emulator.login_url}/services/oauth2/revoke", data={"token": token["refresh_token"]}, timeout=10
    )
    response = _token_post(
        sfdc_emulator,
        sfdc_emulator.login_url,
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
        client_id=seed.CLIENT_ID,
        client_secret=seed.CLIENT_SECRET,
    )

    assert revoked.status_code == 200
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    assert _identity(sfdc_emulator, token).status_code == 403  # its access token died too


def test_revoking_an_unknown_token(sfdc_emulator):
    response = requests.post(f"{sfdc_emulator.login_url}/services/oauth2/revoke", data={"token": "nope"}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_token_type"


def _identity(emulator, token):
    return requests.get(token["id"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)


def test_identity_url(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator, username=seed.CAROL)

    identity = _identity(sfdc_emulator, token).json()

    assert identity["user_id"] == seed.USER_IDS[seed.CAROL]
    assert identity["organization_id"] == seed.PRODUCTION_ORG_ID
    assert identity["username"] == identity["email"] == seed.CAROL
    assert identity["display_name"] == "Carol Chen" and identity["active"] is True
    assert identity["urls"]["rest"] == f"{sfdc_emulator.base_url}/services/data/v{{version}}/"


def test_identity_with_a_bad_token_is_403_bad_oauth_token(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)

    response = _identity(sfdc_emulator, {**token, "access_token": "garbage"})

    assert response.status_code == 403
    assert response.text == "Bad_OAuth_Token"


def test_sandbox_flow_uses_the_sandbox_org_and_paths(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator, username=seed.ALICE, sandbox=True)

    alice = seed.USER_IDS[seed.ALICE]
    assert token["id"] == f"{sfdc_emulator.base_url}/sandbox/id/{seed.SANDBOX_ORG_ID}/{alice}"
    assert token["instance_url"] == sfdc_emulator.base_url
    assert _identity(sfdc_emulator, token).json()["organization_id"] == seed.SANDBOX_ORG_ID
    paths = [c["path"] for c in sfdc_emulator.control.calls()]
    assert "/sandbox/services/oauth2/token" in paths
    assert "/services/oauth2/token" not in paths


def test_a_sandbox_code_is_not_accepted_by_production(sfdc_emulator):
    oauth, _, params, _ = _start(sfdc_emulator, sandbox=True)

    with pytest.raises(InvalidGrantError):
        oauth.fetch_token(
            f"{sfdc_emulator.login_url}/services/oauth2/token", code=params["code"][0], client_secret=seed.CLIENT_SECRET
        )


def test_consent_page_names_the_refresh_scope_once(sfdc_emulator):
    browser = requests.Session()
    query = {
        "response_type": "code",
        "client_id": seed.CLIENT_ID,
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "scope": "api refresh_token offline_access",
    }
    sign_in = browser.get(
        f"{sfdc_emulator.login_url}/services/oauth2/authorize", params=query, verify=sfdc_emulator.ca_bundle, timeout=10
    )
    consent = browser.post(
        sign_in.url,
        data={**query, "action": "login", "username": seed.ADMIN, "password": seed.PASSWORD},
        verify=sfdc_emulator.ca_bundle,
        timeout=10,
    )

    assert consent.text.count("<li>Perform requests at any time (refresh_token, offline_access)</li>") == 1
    assert "<li>Manage user data via APIs (api)</li>" in consent.text
