"""The HTTPS server: stdlib ThreadingHTTPServer, TLS handshake done in each request thread.

The handshake happens in the per-connection thread (not in ``accept``), so a slow client
or a request that sleeps never blocks the others. HTTP/1.1 keep-alive is supported.
"""

import socket
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import app as application
from . import tls
from .web import Request, Response

HANDSHAKE_TIMEOUT = 10
IDLE_TIMEOUT = 120


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, app, ssl_context):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        # Headers and body go out as separate writes; without NODELAY, Nagle + delayed ACK
        # add ~40 ms to every response.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            connection.settimeout(IDLE_TIMEOUT)
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            try:
                connection.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfdc_emulator"
    sys_version = ""

    def do_GET(self):
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _serve(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=path,
            query_string=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )
        try:
            response = application.handle(self.server.app, request)
        except Exception as exc:  # never let one bad request kill the connection thread silently
            print(f"sfdc_emulator: error handling {self.command} {path}: {exc!r}", file=sys.stderr)
            response = Response(
                500,
                b'[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]',
                {"Content-Type": "application/json;charset=UTF-8"},
            )
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self._write(response)
        except OSError:  # the client gave up (e.g. its timeout fired during a "hang" fault)
            self.close_connection = True

    def _write(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def serve(data_dir, host="127.0.0.1", port=8443, reset=False, verbose=False):
    """Start serving forever; prints one readiness line to stdout."""
    paths = tls.ensure_certificates(data_dir)
    app = application.App(data_dir, host=host, port=port)
    if reset:
        app.reset()
    server = EmulatorServer((host, port), app, tls.server_context(paths))
    server.verbose = verbose
    app.port = server.server_address[1]
    print(f"sfdc_emulator listening on {app.base_url} (CA: {paths['ca-bundle']})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
