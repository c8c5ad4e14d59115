"""The OAuth web-server flow's URLs, state and PKCE. The HTTP calls live in client.py."""

import base64
import hashlib
import os
import secrets

from django.conf import settings
from requests_oauthlib import OAuth2Session

from .models import SalesforceConnection

# Salesforce may answer with the granted scopes in another order or as a subset; oauthlib
# would raise a Warning for that instead of returning the token.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

SCOPES = ["api", "refresh_token", "offline_access"]
SESSION_KEY = "salesforce_oauth"
Environment = SalesforceConnection.Environment


def is_configured() -> bool:
    return bool(settings.SALESFORCE_CLIENT_ID and settings.SALESFORCE_CLIENT_SECRET)


def login_base_url(environment: str, login_host: str = "") -> str:
    """The connection's own login host (My Domain) when it has one, else the environment's."""
    if login_host:
        return f"https://{login_host}"
    if environment == Environment.SANDBOX:
        return settings.SALESFORCE_SANDBOX_LOGIN_URL
    return settings.SALESFORCE_LOGIN_URL


def endpoint(environment: str, name: str, login_host: str = "") -> str:
    return f"{login_base_url(environment, login_host)}/services/oauth2/{name}"


def redirect_uri() -> str:
    # Exact: Salesforce compares it with the connected app's callback URL character by character.
    return f"{settings.PUBLIC_BASE_URL}/settings/integrations/salesforce/callback/"


def _code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(session, *, environment: str, user_id: int, login_host: str = "") -> str:
    """Begin a connect: remember state, the PKCE verifier and the login host in the user's
    session and return the authorize URL. A new start replaces any earlier, unfinished one."""
    verifier = secrets.token_urlsafe(64)[:96]
    oauth = OAuth2Session(settings.SALESFORCE_CLIENT_ID, redirect_uri=redirect_uri(), scope=SCOPES)
    url, state = oauth.authorization_url(
        endpoint(environment, "authorize", login_host),
        state=secrets.token_urlsafe(32),
        code_challenge=_code_challenge(verifier),
        code_challenge_method="S256",
        prompt="login consent",
    )
    session[SESSION_KEY] = {
        "state": state,
        "verifier": verifier,
        "environment": environment,
        "user_id": user_id,
        "login_host": login_host,
    }
    return url


class StateError(Exception):
    """The callback's state is missing, unknown, already used, or from another session."""


def finish(session, *, state: str | None, user_id: int) -> dict:
    """Pop the pending connect (single use) and check the callback's state against it."""
    pending = session.pop(SESSION_KEY, None)
    if not pending or not state:
        raise StateError("This sign-in link has expired or was already used. Start again with Connect.")
    if not secrets.compare_digest(str(pending.get("state", "")), str(state)) or pending.get("user_id") != user_id:
        raise StateError("The reply from Salesforce doesn't match the connect you started. Start again with Connect.")
    return pending
