"""Request and response values passed between the HTTP server and the handlers."""

import json
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qs

from .errors import json_parser_error

JSON_TYPE = "application/json;charset=UTF-8"
LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


@dataclass
class Request:
    method: str
    path: str
    query_string: str = ""
    headers: dict = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    @cached_property
    def params(self):
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    @cached_property
    def form(self):
        text = self.body.decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        """The JSON body; JSON_PARSER_ERROR if it is missing or malformed (as Salesforce says)."""
        if not self.body.strip():
            raise json_parser_error("The HTTP entity body is required, but this request has no entity body.")
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise json_parser_error(
                f"Unexpected character ({exc.msg}) at [line:{exc.lineno}, column:{exc.colno}]"
            ) from None
        except UnicodeDecodeError:
            raise json_parser_error("Invalid UTF-8 in the request body") from None

    def bearer_token(self):
        auth = self.header("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            return token.strip()
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    drop: bool = False  # close the connection without answering (fault injection)
    delay: float = 0.0  # seconds to wait before answering (latency / hang faults)


def json_response(status, payload, headers=None):
    body = b"" if payload is None else json.dumps(payload).encode()
    return Response(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def html_response(status, html, headers=None):
    return Response(status, html.encode(), {"Content-Type": "text/html;charset=UTF-8", **(headers or {})})


def text_response(status, text):
    return Response(status, text.encode(), {"Content-Type": "text/plain;charset=UTF-8"})


def redirect(location):
    return Response(302, b"", {"Location": location})


def error_response(error, headers=None):
    """A SalesforceError as Salesforce's JSON array body."""
    return json_response(error.status, error.errors, headers)


def is_loopback(ip):
    return ip in LOOPBACK
