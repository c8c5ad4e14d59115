"""Logging that carries structured ids and cannot carry a token.

Known secret values (OAuth tokens, client secrets) are registered at the moment they are
decrypted or received; the filter replaces any occurrence in a record's message, args or
extra fields. Structured extras are rendered as key=value.
"""

import logging
import threading
from collections import OrderedDict

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "extra_fields"}
# The most recently seen secrets, bounded: a worker serving thousands of connections (each
# refresh adds an access token) must not grow this, nor the cost of each log line, forever.
# A token not seen for MAX_SECRETS newer ones is no longer in this process's hands anyway.
MAX_SECRETS = 2048
_secrets: OrderedDict[str, None] = OrderedDict()
_lock = threading.Lock()
REDACTED = "[redacted]"


def register_secret(value: str | None) -> None:
    """Remember a secret so that no log line can print it. Short values are ignored."""
    if value and len(value) >= 8:
        with _lock:
            _secrets[value] = None
            _secrets.move_to_end(value)
            while len(_secrets) > MAX_SECRETS:
                _secrets.popitem(last=False)


def redact(text: str) -> str:
    with _lock:
        secrets = list(_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        record.msg = redact(message)
        record.args = ()
        record.extra_fields = redact(" ".join(f"{k}={v}" for k, v in sorted(extras.items())))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
