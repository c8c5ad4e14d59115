"""Issuing, checking and revoking OAuth tokens for the two orgs.

Token response fields are exactly Salesforce's: access_token, refresh_token (only when
the scope allows one; on the refresh grant only with refresh-token rotation on), signature,
scope, instance_url, id, token_type, issued_at. No expires_in. ``signature`` is
Base64(HMAC-SHA256(client secret, id + issued_at)) (Web Server Flow doc;
/work/shared/docs/salesforce-api-notes.md §1).

Rotation (Salesforce Help "OAuth 2.0 Refresh Token Flow for Renewed Sessions"): each refresh
answer carries a new refresh token and the one just used stops working; access tokens already
issued keep working until they expire.
"""

import base64
import hashlib
import hmac
import time

from . import ids, seed, state, users

PRODUCTION, SANDBOX = "production", "sandbox"
ORG_IDS = {PRODUCTION: seed.PRODUCTION_ORG_ID, SANDBOX: seed.SANDBOX_ORG_ID}
REFRESH_SCOPES = ("refresh_token", "offline_access")


def org_of(sandbox):
    return SANDBOX if sandbox else PRODUCTION


def identity_url(app, org, user_id, login_base=None):
    return f"{login_base or app.login_base(org == SANDBOX)}/id/{ORG_IDS[org]}/{user_id}"


def instance_url(app):
    """Where the org's data lives: this server, or the host an org "moved" to (setting
    ``instance_host``; the same process answers there)."""
    host = state.settings(app.store)["instance_host"]
    return f"https://{host}" if host else app.base_url


def issue(app, user_id, org, scope, refresh_token=None, login_base=None, rotate=False):
    """Issue an access token, and a refresh token on the code grant when the scope allows (on
    the refresh grant only when ``rotate``: the used one is revoked in the same transaction).
    ``login_base`` is the login host the request came to (a My Domain host names itself in
    the identity URL)."""
    store = app.store
    access_token = f"{ORG_IDS[org][:15]}!" + ids.random_token(96)
    new_refresh = None
    with store.atomic():
        if (refresh_token is None or rotate) and set(scope.split()) & set(REFRESH_SCOPES):
            new_refresh = "5Aep861" + ids.random_token(80)
            store.add_token(new_refresh, "refresh", user_id, org, scope)
        if rotate and refresh_token:
            store.revoke_tokens("token = ?", (refresh_token,))
        store.add_token(access_token, "access", user_id, org, scope, parent=new_refresh or refresh_token)
    issued_at = str(int(time.time() * 1000))
    identity = identity_url(app, org, user_id, login_base)
    response = {"access_token": access_token}
    if new_refresh:
        response["refresh_token"] = new_refresh
    response.update(
        {
            "signature": sign(identity, issued_at),
            "scope": scope,
            "instance_url": instance_url(app),
            "id": identity,
            "token_type": "Bearer",  # nosec B105  # OAuth token type name, not a password
            "issued_at": issued_at,
        }
    )
    return response


def sign(identity, issued_at):
    digest = hmac.new(seed.CLIENT_SECRET.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def session(app, access_token):
    """The live token row for a Bearer token plus its user's security dict, or None."""
    row = app.store.token(access_token) if access_token else None
    if not row or row["kind"] != "access" or row["revoked"]:
        return None
    lifetime = state.settings(app.store)["session_seconds"]
    if time.time() - row["issued_at"] > lifetime:
        return None
    if not users.is_active(app.store, row["user_id"]):
        return None
    return row, users.actor(app.store, row["user_id"])


def live_refresh_token(app, token, org):
    row = app.store.token(token) if token else None
    if not row or row["kind"] != "refresh" or row["revoked"] or row["org"] != org:
        return None
    return row


def revoke(app, token):
    """Revoke an access token, or a refresh token and every access token issued from it."""
    row = app.store.token(token) if token else None
    if not row or row["revoked"]:
        return False
    with app.store.atomic():
        app.store.revoke_tokens("token = ?", (token,))
        if row["kind"] == "refresh":
            app.store.revoke_tokens("parent = ?", (token,))
    return True


def expire_access_tokens(app):
    return app.store.revoke_tokens("kind = 'access'")


def revoke_refresh_tokens(app, username=None):
    """Revoke refresh tokens (all, or one user's) together with their access tokens."""
    if username:
        security = app.store.security(username=username)
        user_ids = [security["user_id"]] if security else []
        where, params = "user_id = ?", tuple(user_ids)
        if not user_ids:
            return 0
    else:
        where, params = "1 = 1", ()
    with app.store.atomic():
        count = app.store.revoke_tokens(f"kind = 'refresh' AND {where}", params)
        app.store.revoke_tokens(f"kind = 'access' AND parent IS NOT NULL AND {where}", params)
    return count
