"""OAuth endpoints: token (authorization_code, refresh_token grants) and revoke.

Error bodies are Salesforce's ``{"error", "error_description"}`` with HTTP 400:
- bad client: ``invalid_client_id`` / ``invalid_client`` "invalid client credentials";
- code problems: ``invalid_grant`` "invalid authorization code" / "expired authorization code";
- PKCE: ``invalid_grant`` "invalid code verifier" (seen from a real org:
  https://salesforce.stackexchange.com/questions/330168);
- refresh: ``invalid_grant`` "expired access/refresh token" (revoked or unknown);
- revoke of an unknown token: ``unsupported_token_type`` (Mobile SDK "Revoking OAuth Tokens");
- org switches (settings): ``token_error`` answers that error code to both grants (the
  descriptions are in CONNECT_ERRORS); ``login_hosts_only`` refuses the OAuth endpoints at any
  other host (an org that blocks login.salesforce.com for its My Domain); ``token_latency_ms``
  slows the token endpoint alone.
"""

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote

from . import authorize, seed, state, tokens, users
from .errors import OAuthError
from .web import json_response, text_response

# Error codes of a real connect and their descriptions. Sources (README.md): OAUTH_APP_BLOCKED
# from a real redirect quoted in n8n-io/n8n#21589; OAUTH_EC_APP_NOT_FOUND from the app-install
# change (Help 005132365; PipedreamHQ/pipedream#21557), description a guess; inactive_user /
# inactive_org per Help "OAuth 2.0 Authorization Errors", wire descriptions a guess;
# invalid_client_id / redirect_uri_mismatch as Salesforce's own error page shows them.
CONNECT_ERRORS = {
    "OAUTH_EC_APP_NOT_FOUND": "External client app is not installed in this org",
    "OAUTH_APP_BLOCKED": "this app is blocked by admin",
    "OAUTH_APP_ACCESS_DENIED": "user is not admin approved to access this app",
    "inactive_user": "user is inactive",
    "inactive_org": "organization is locked, closed, or suspended",
    "invalid_client_id": "client identifier invalid",
    "redirect_uri_mismatch": "redirect_uri must match configuration",
}
BLOCKED_HOST = "this org does not allow logins at this URL: use its My Domain login URL"


def handle(app, request, path, sandbox):
    org = tokens.org_of(sandbox)
    endpoint = path[len("/services/oauth2/") :].rstrip("/")
    blocked = not host_allowed(app, request)
    if endpoint == "authorize":
        if blocked:
            return authorize.error_page("invalid_request", BLOCKED_HOST)
        return authorize.handle(app, request, org)
    try:
        if blocked:
            raise OAuthError("invalid_grant", BLOCKED_HOST)
        if endpoint == "token" and request.method == "POST":
            response = json_response(200, token(app, request, org), {"Cache-Control": "no-store"})
            response.delay += state.settings(app.store)["token_latency_ms"] / 1000.0
            return response
        if endpoint == "revoke" and request.method in ("POST", "GET"):
            return revoke(app, request)
    except OAuthError as error:
        response = json_response(error.status, error.body())
        if endpoint == "token":
            response.delay += state.settings(app.store)["token_latency_ms"] / 1000.0
        return response
    return text_response(404, "Not Found")


def host_allowed(app, request):
    """With ``login_hosts_only`` set, only those host[:port] names serve the OAuth endpoints."""
    allowed = [h.strip().lower() for h in state.settings(app.store)["login_hosts_only"].split(",") if h.strip()]
    return not allowed or (request.header("host") or "").lower() in allowed


def login_base(app, request, sandbox):
    """The login URL as the client reached it: a My Domain name served by this same process."""
    host = request.header("host")
    base = f"https://{host}" if host else app.base_url
    return base + ("/sandbox" if sandbox else "")


def token(app, request, org):
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    client_id = _authenticate_client(request, secret_required=grant_type == "authorization_code")
    switched = state.settings(app.store)["token_error"]
    if switched:
        raise OAuthError(switched, CONNECT_ERRORS.get(switched, switched))
    base = login_base(app, request, org == tokens.SANDBOX)
    if grant_type == "authorization_code":
        return _code_grant(app, form, client_id, org, base)
    return _refresh_grant(app, form, org, base)


def revoke(app, request):
    token_value = request.form.get("token") or request.params.get("token")
    if not tokens.revoke(app, token_value):
        raise OAuthError("unsupported_token_type", "this token type is not supported")
    return json_response(200, None)


def _authenticate_client(request, secret_required):
    client_id, client_secret = request.form.get("client_id"), request.form.get("client_secret")
    basic = request.header("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(basic[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials") from None
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, client_secret = unquote(basic_id), unquote(basic_secret)
    if client_id != seed.CLIENT_ID:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (client_secret is not None or secret_required) and not hmac.compare_digest(
        (client_secret or "").encode(), seed.CLIENT_SECRET.encode()
    ):
        raise OAuthError("invalid_client", "invalid client credentials")
    return client_id


def _code_grant(app, form, client_id, org, base):
    ttl = state.settings(app.store)["code_ttl_seconds"]
    with app.store.atomic():
        found = app.store.code(form.get("code") or "")
        if found is None or found["used"] or found["data"]["org"] != org:
            raise OAuthError("invalid_grant", "invalid authorization code")
        data = found["data"]
        if time.time() - found["created_at"] > ttl:
            raise OAuthError("invalid_grant", "expired authorization code")
        if data["client_id"] != client_id:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if form.get("redirect_uri") != data["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri must match configuration")
        if data.get("code_challenge") and not _verifier_matches(form.get("code_verifier"), data["code_challenge"]):
            raise OAuthError("invalid_grant", "invalid code verifier")
        app.store.mark_code_used(found["code"])
    return tokens.issue(app, data["user_id"], org, data["scope"], login_base=base)


def _refresh_grant(app, form, org, base):
    row = tokens.live_refresh_token(app, form.get("refresh_token"), org)
    if row is None:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    if not users.is_active(app.store, row["user_id"]):
        raise OAuthError("invalid_grant", "authentication failure")
    rotate = state.settings(app.store)["refresh_token_rotation"]
    return tokens.issue(
        app, row["user_id"], org, row["scope"], refresh_token=row["token"], login_base=base, rotate=rotate
    )


def _verifier_matches(verifier, challenge):
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(computed, challenge)
