"""The application: shared state plus top-level routing and the Salesforce call log.

Every Salesforce-facing request (OAuth, identity, REST) is logged with whether it counted
toward the API allotment; ``/_control`` and ``/_records`` are never logged or counted.
"""

from pathlib import Path

from . import browser, control_api, faults, identity, oauth, rest, seed, state, values
from .errors import not_found
from .pages import esc, page
from .soql import QueryCursors
from .store import Store
from .web import error_response, html_response, text_response


class App:
    def __init__(self, data_dir, host="127.0.0.1", port=0):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "state.sqlite3")
        self.cursors = QueryCursors()
        self.host = host
        self.port = port
        self.ca_bundle = str(self.data_dir / "ca-bundle.pem")
        state.ensure_seeded(self.store)

    @property
    def base_url(self):
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", None) else self.host  # nosec B104  # compares with 0.0.0.0 to build a URL; binds nothing
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{self.port}"

    def login_base(self, sandbox=False):
        return self.base_url + ("/sandbox" if sandbox else "")

    def reset(self):
        state.reset(self.store)
        self.cursors.clear()


def handle(app, request):
    path = request.path
    if path == "/_control" or path.startswith("/_control/"):
        return control_api.handle(app, request)
    if path == "/_records" or path.startswith("/_records/"):
        return browser.handle(app, request)
    if path.startswith("/lightning/r/"):
        return browser.lightning_record(app, request)
    if path == "/favicon.ico":
        return text_response(404, "Not Found")
    call = {
        "method": request.method,
        "path": path,
        "query": request.query_string,
        "status": None,
        "counted": False,
        "api_version": None,
        "at": values.now(),
        "org": None,
    }
    response = _salesforce(app, request, call)
    call["status"] = response.status
    app.store.log_call(call)
    return response


def _salesforce(app, request, call):
    path = request.path
    sandbox = path == "/sandbox" or path.startswith("/sandbox/")
    login_path = path[len("/sandbox") :] if sandbox else path
    failure = faults.take_failure(app.store, path)
    if failure is not None:
        response = failure
    elif login_path.startswith("/services/oauth2/"):
        call["org"] = "sandbox" if sandbox else "production"
        response = oauth.handle(app, request, login_path, sandbox)
    elif login_path.startswith("/id/"):
        call["org"] = "sandbox" if sandbox else "production"
        response = identity.handle(app, request, login_path, sandbox)
    elif not sandbox and (path == "/services/data" or path.startswith("/services/data/")):
        response = rest.handle(app, request, call)
    elif login_path in ("", "/"):
        response = _home(app)
    elif path.startswith("/services/"):
        response = error_response(not_found())
    else:
        response = text_response(404, "Not Found")
    if path.startswith("/services/data") or login_path == "/services/oauth2/token":
        response.delay += faults.latency_seconds(app.store)
    return response


def _home(app):
    links = [
        ("Production login", app.login_base(False) + "/services/oauth2/authorize"),
        ("Sandbox login", app.login_base(True) + "/services/oauth2/authorize"),
        ("Records browser", app.base_url + "/_records/"),
        ("Control API state", app.base_url + "/_control/state"),
    ]
    items = "".join(f"<li>{esc(label)}: <code>{esc(url)}</code></li>" for label, url in links)
    body = (
        f"<p>Local Salesforce emulator for <b>{esc(seed.ORG_NAME)}</b>. Connected app "
        f"<code>{esc(seed.CLIENT_ID)}</code>.</p><ul>{items}</ul>"
        f"<p class='muted'>CA bundle: {esc(app.ca_bundle)}</p>"
    )
    return html_response(200, page("sfdc_emulator", body))
