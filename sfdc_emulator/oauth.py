"""OAuth endpoints: token (authorization_code, refresh_token grants) and revoke.

Error bodies are Salesforce's ``{"error", "error_description"}`` with HTTP 400:
- bad client: ``invalid_client_id`` / ``invalid_client`` "invalid client credentials";
- code problems: ``invalid_grant`` "invalid authorization code" / "expired authorization code";
- PKCE: ``invalid_grant`` "invalid code verifier" (seen from a real org:
  https://salesforce.stackexchange.com/questions/330168);
- refresh: ``invalid_grant`` "expired access/refresh token" (revoked or unknown);
- revoke of an unknown token: ``unsupported_token_type`` (Mobile SDK "Revoking OAuth Tokens").
"""

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote

from . import authorize, seed, state, tokens, users
from .errors import OAuthError
from .web import json_response, text_response


def handle(app, request, path, sandbox):
    org = tokens.org_of(sandbox)
    endpoint = path[len("/services/oauth2/"):].rstrip("/")
    if endpoint == "authorize":
        return authorize.handle(app, request, org)
    try:
        if endpoint == "token" and request.method == "POST":
            return json_response(200, token(app, request, org), {"Cache-Control": "no-store"})
        if endpoint == "revoke" and request.method in ("POST", "GET"):
            return revoke(app, request)
    except OAuthError as error:
        return json_response(error.status, error.body())
    return text_response(404, "Not Found")


def token(app, request, org):
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        client_id = _authenticate_client(request, secret_required=True)
        return _code_grant(app, form, client_id, org)
    if grant_type == "refresh_token":
        _authenticate_client(request, secret_required=False)
        return _refresh_grant(app, form, org)
    raise OAuthError("unsupported_grant_type", "grant type not supported")


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
            (client_secret or "").encode(), seed.CLIENT_SECRET.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")
    return client_id


def _code_grant(app, form, client_id, org):
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
        if data.get("code_challenge") and not _verifier_matches(form.get("code_verifier"),
                                                                data["code_challenge"]):
            raise OAuthError("invalid_grant", "invalid code verifier")
        app.store.mark_code_used(found["code"])
    return tokens.issue(app, data["user_id"], org, data["scope"])


def _refresh_grant(app, form, org):
    row = tokens.live_refresh_token(app, form.get("refresh_token"), org)
    if row is None:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    if not users.is_active(app.store, row["user_id"]):
        raise OAuthError("invalid_grant", "authentication failure")
    return tokens.issue(app, row["user_id"], org, row["scope"], refresh_token=row["token"])


def _verifier_matches(verifier, challenge):
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(computed, challenge)
