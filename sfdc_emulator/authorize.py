"""The authorize endpoint of the web server flow: sign-in page, consent page, redirect.

GET renders the sign-in page; POST ``action=login`` checks the password and renders the
consent page; POST ``action=allow|deny`` redirects back with ``code`` or with
``error=access_denied&error_description=end-user denied authorization``. The consent form
carries an HMAC "ticket" so it cannot be posted for a user who did not sign in.
A bad client_id or redirect_uri never redirects: Salesforce shows an error page.
The ``authorize_error`` setting plays an org that refuses the app after sign-in (not
installed, blocked, inactive user/org): Allow redirects back with ``error=<code>`` and its
``error_description`` (and the state), as the callback sees it from a real org.
"""

import hashlib
import hmac
import os
import time
from urllib.parse import urlencode, urlsplit

from . import ids, seed, state, users
from .pages import esc, hidden_fields, page, table
from .web import html_response, redirect

OAUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "prompt",
    "display",
    "nonce",
)
ALLOWED_SCOPES = {
    "api",
    "id",
    "refresh_token",
    "offline_access",
    "full",
    "web",
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "chatter_api",
    "visualforce",
}
SCOPE_TEXT = {
    "api": "Manage user data via APIs (api)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",  # nosec B105  # consent-page text for the refresh_token scope
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "full": "Full access (full)",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
TICKET_SECONDS = 600


def handle(app, request, org):
    params = {k: (request.form if request.method == "POST" else request.params).get(k) for k in OAUTH_PARAMS}
    switched = state.settings(app.store)["authorize_error"]
    if params["client_id"] != seed.CLIENT_ID or switched == "invalid_client_id":
        return error_page("invalid_client_id", "client identifier invalid")
    if not redirect_uri_allowed(params["redirect_uri"]) or switched == "redirect_uri_mismatch":
        return error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
    problem = _request_problem(params)
    if problem:
        return redirect(_with_query(params["redirect_uri"], {**problem, "state": params["state"]}))
    if request.method != "POST":
        return _sign_in_page(app, request, params, org)
    action = request.form.get("action")
    if action == "login":
        return _login(app, request, params, org)
    if action in ("allow", "deny"):
        return _decide(app, request, params, org, action)
    return _sign_in_page(app, request, params, org)


def redirect_uri_allowed(uri):
    extra = [u.strip() for u in os.environ.get("SFDC_EMULATOR_EXTRA_REDIRECT_URIS", "").split(",")]
    if uri and uri in extra:
        return True
    try:
        parts = urlsplit(uri or "")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.hostname in LOCAL_HOSTS
        and parts.path == seed.CALLBACK_PATH
        and not parts.query
        and not parts.fragment
    )


def _request_problem(params):
    if params["response_type"] != "code":
        return {"error": "unsupported_response_type", "error_description": "response type not supported"}
    if params["code_challenge_method"] not in (None, "", "S256"):
        return {"error": "invalid_request", "error_description": "invalid code_challenge_method"}
    if not set(_scopes(params)) <= ALLOWED_SCOPES:
        return {"error": "invalid_scope", "error_description": "the requested scope is not allowed"}
    return None


def _scopes(params):
    requested = (params["scope"] or "").split()
    return requested or list(seed.DEFAULT_SCOPES)


def _login(app, request, params, org):
    user, error = users.authenticate(app.store, request.form.get("username"), request.form.get("password"))
    if error:
        return _sign_in_page(app, request, params, org, error=error, username=request.form.get("username"))
    ticket = _ticket(app, user["Id"], org, params, int(time.time()))
    scopes = "".join(f"<li>{esc(text)}</li>" for text in dict.fromkeys(SCOPE_TEXT.get(s, s) for s in _scopes(params)))
    body = (
        f"<h2>Allow Access?</h2><p><b>Workestra</b> ({esc(seed.CLIENT_ID)}) is asking to:</p>"
        f"<ul>{scopes}</ul><p class='muted'>Signed in as {esc(user['Username'])} "
        f"({'sandbox' if org == 'sandbox' else 'production'} org)</p>"
        f"<form method='post' action='{esc(_authorize_path(org))}'>{hidden_fields(params)}"
        f"{hidden_fields({'ticket': ticket})}"
        "<button type='submit' name='action' value='allow'>Allow</button>"
        "<button type='submit' name='action' value='deny' class='secondary'>Deny</button></form>"
    )
    return html_response(200, page("Salesforce - Allow Access", body))


def _decide(app, request, params, org, action):
    user_id = _check_ticket(app, request.form.get("ticket"), org, params)
    if user_id is None:
        return _sign_in_page(app, request, params, org, error="Your sign-in expired. Please sign in again.")
    if action == "deny":
        return redirect(
            _with_query(
                params["redirect_uri"],
                {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                    "state": params["state"],
                },
            )
        )
    switched = state.settings(app.store)["authorize_error"]
    if switched:
        from .oauth import CONNECT_ERRORS

        return redirect(
            _with_query(
                params["redirect_uri"],
                {
                    "error": switched,
                    "error_description": CONNECT_ERRORS.get(switched, switched),
                    "state": params["state"],
                },
            )
        )
    code = "aPrx" + ids.random_token(64)
    app.store.add_code(
        code,
        {
            "client_id": params["client_id"],
            "user_id": user_id,
            "org": org,
            "redirect_uri": params["redirect_uri"],
            "scope": " ".join(dict.fromkeys(_scopes(params))),
            "code_challenge": params["code_challenge"] or None,
        },
    )
    return redirect(_with_query(params["redirect_uri"], {"code": code, "state": params["state"]}))


def _sign_in_page(app, request, params, org, error=None, username=None):
    rows = []
    for person in users.directory(app.store):
        status = "Active" if person["active"] else "Inactive"
        api = "on" if person["api_enabled"] else "off"
        rows.append(
            [
                esc(person["username"]),
                esc(seed.PASSWORD),
                esc(person["name"]),
                esc(person["profile"]),
                esc(status),
                esc(api),
            ]
        )
    error_html = f"<div class='error'>{esc(error)}</div>" if error else ""
    login_as = esc(username or params["login_hint"] or "")
    body = (
        f"{error_html}<form method='post' action='{esc(_authorize_path(org))}'>"
        f"{hidden_fields(params)}<input type='hidden' name='action' value='login'>"
        f"<label for='username'>Username</label>"
        f"<input type='text' id='username' name='username' value='{login_as}'>"
        "<label for='password'>Password</label>"
        "<input type='password' id='password' name='password'>"
        "<button type='submit'>Log In</button></form>"
        f"<h3>Seeded users (password: {esc(seed.PASSWORD)})</h3>"
        + table(["Username", "Password", "Name", "Profile", "Status", "API"], rows)
    )
    org_label = "Sandbox" if org == "sandbox" else "Production"
    return html_response(200, page(f"Salesforce Login ({org_label}) - {seed.ORG_NAME}", body))


def error_page(error, description):
    body = (
        f"<div class='error'>error={esc(error)}&amp;error_description={esc(description)}</div>"
        "<p>The request could not be processed: check the connected app's client_id and "
        "callback URL.</p>"
    )
    return html_response(400, page("Salesforce - OAuth Error", body))


def _authorize_path(org):
    return ("/sandbox" if org == "sandbox" else "") + "/services/oauth2/authorize"


def _with_query(uri, values):
    query = urlencode({k: v for k, v in values.items() if v is not None})
    return uri + ("&" if "?" in uri else "?") + query


def _ticket(app, user_id, org, params, issued):
    return f"{user_id}.{issued}.{_mac(app, user_id, org, params, issued)}"


def _check_ticket(app, ticket, org, params):
    try:
        user_id, issued, mac = (ticket or "").split(".")
        issued = int(issued)
    except ValueError:
        return None
    if time.time() - issued > TICKET_SECONDS:
        return None
    if not hmac.compare_digest(mac, _mac(app, user_id, org, params, issued)):
        return None
    return user_id if users.is_active(app.store, user_id) else None


def _mac(app, user_id, org, params, issued):
    message = "|".join([user_id, org, str(issued), urlencode(sorted((k, v or "") for k, v in params.items()))])
    return hmac.new(app.store.kv_get("secret").encode(), message.encode(), hashlib.sha256).hexdigest()
