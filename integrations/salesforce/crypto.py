"""Tokens at rest: MultiFernet over the keys in settings.TOKEN_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a new key is put first, everything is
re-encrypted (`manage.py rotate_token_keys`), and only then the old key is removed.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from workestra.logging import register_secret


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty: tokens cannot be stored.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be url-safe base64 Fernet keys (Fernet.generate_key())."
        ) from exc


def cipher() -> MultiFernet:
    return _multifernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


class UndecryptableError(ImproperlyConfigured):
    """No key in TOKEN_ENCRYPTION_KEYS decrypts a stored token."""


def decrypt(ciphertext: str) -> str:
    try:
        value = cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        # No detail: the ciphertext itself is not a secret, but nothing here helps an attacker.
        raise UndecryptableError("A stored token cannot be decrypted with any configured key.") from exc
    register_secret(value)
    return value


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return cipher().rotate(ciphertext.encode()).decode()


class Secret(str):
    """A decrypted token. Its repr never shows the value, so tracebacks and debug pages don't."""

    def __repr__(self) -> str:
        return "Secret('[redacted]')"


def protect_token(token: dict) -> dict:
    """A token response with its secrets wrapped in Secret (and registered for redaction), so
    no repr of it — a DEBUG page's frame locals, a log line, an exception — shows them."""
    protected = dict(token)
    for key in ("access_token", "refresh_token"):
        if protected.get(key):
            register_secret(str(protected[key]))
            protected[key] = Secret(protected[key])
    return protected


class UnreadableSecret(Secret):
    """A stored token no configured key decrypts. Empty (so it is never sent anywhere), and
    told apart from "no token" by is_unreadable(): loading a row never raises, and only the
    code that needs the token (a Salesforce call) turns this into "needs reconnect"."""

    ciphertext: str

    def __new__(cls, ciphertext: str):
        value = super().__new__(cls, "")
        value.ciphertext = ciphertext
        return value


def is_unreadable(value) -> bool:
    return isinstance(value, UnreadableSecret)


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext (as a Secret), '' or, when no
    configured key decrypts it, an UnreadableSecret."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        try:
            return Secret(decrypt(value))
        except UndecryptableError:
            return UnreadableSecret(value)

    def get_prep_value(self, value):
        if is_unreadable(value):
            # Saved back untouched: putting the old key back must still make it readable.
            return value.ciphertext
        value = super().get_prep_value(value)
        if not value:
            return ""
        register_secret(str(value))
        return encrypt(str(value))
