"""Python client for the emulator's control API (``/_control/``), for tests and the demo."""

import requests

DEFAULT_TIMEOUT = 10


class EmulatorControlError(Exception):
    def __init__(self, response):
        super().__init__(f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:500]}")
        self.status_code = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = response.text


class EmulatorControl:
    def __init__(self, base_url, ca_bundle):
        self.base_url = base_url.rstrip("/")
        self.ca_bundle = ca_bundle
        self._session = requests.Session()

    # -- call log and usage --------------------------------------------------------------

    def calls(self, since=0):
        return self._request("GET", "/calls", params={"since": since})["calls"]

    def count(self, prefix="/services/data"):
        """Calls under ``prefix`` that counted toward the API allotment."""
        return self.count_calls(prefix)["counted"]

    def count_calls(self, prefix="/services/data"):
        return self._request("GET", "/calls/count", params={"prefix": prefix})

    def reset_calls(self):
        return self._request("POST", "/calls/reset")

    def state(self):
        return self._request("GET", "/state")

    def reset(self):
        return self._request("POST", "/reset")

    # -- faults, tokens, settings ----------------------------------------------------------

    def set_faults(self, **faults):
        """e.g. ``set_faults(latency_ms=300)``, ``set_faults(fail={"status": 503, "count": 2})``."""
        return self._request("POST", "/faults", json=faults)

    def faults(self):
        return self._request("GET", "/faults")

    def clear_faults(self):
        return self._request("DELETE", "/faults")

    def expire_tokens(self):
        return self._request("POST", "/tokens/expire")

    def revoke_tokens(self, username=None):
        return self._request("POST", "/tokens/revoke", json={"username": username} if username else {})

    def set_permissions(self, username, **perms):
        """e.g. ``set_permissions("alice@acme.test", api_enabled=False, Note={"create": False})``."""
        return self._request("PUT", f"/permissions/{username}", json=perms)

    def permissions(self, username):
        return self._request("GET", f"/permissions/{username}")

    def set_settings(self, **settings):
        return self._request("PUT", "/settings", json=settings)

    def users(self):
        return self._request("GET", "/users")["users"]

    def add_users(self, count, user_type="Standard", active=True, prefix="bulk"):
        """Generate ``count`` users (a large org); returns how many were created."""
        # Thousands of users take the emulator seconds (more on a busy machine).
        return self._request(
            "POST",
            "/users",
            json={"count": count, "user_type": user_type, "active": active, "prefix": prefix},
            timeout=180,
        )["created"]

    # -- records -------------------------------------------------------------------------

    def records(self, sobject, include_deleted=False):
        params = {"include_deleted": "1"} if include_deleted else {}
        return self._request("GET", f"/records/{sobject}", params=params)["records"]

    def find(self, sobject, include_deleted=False, **equals):
        """Records whose fields equal ``equals`` (strings compared case-insensitively)."""

        def matches(record):
            return all(_same(record.get(name), value) for name, value in equals.items())

        return [r for r in self.records(sobject, include_deleted) if matches(r)]

    def record(self, sobject, record_id):
        return self._request("GET", f"/records/{sobject}/{record_id}")["record"]

    def create_record(self, sobject, fields, validate=True):
        """Create as a person in Salesforce would (any field settable); returns the new id."""
        params = {} if validate else {"validate": "false"}
        return self._request("POST", f"/records/{sobject}", json=fields, params=params)["id"]

    def update_record(self, sobject, record_id, fields, validate=True):
        params = {} if validate else {"validate": "false"}
        return self._request("PATCH", f"/records/{sobject}/{record_id}", json=fields, params=params)["record"]

    def delete_record(self, sobject, record_id):
        return self._request("DELETE", f"/records/{sobject}/{record_id}")

    def _request(self, method, path, timeout=DEFAULT_TIMEOUT, **kwargs):
        # verify= per request: REQUESTS_CA_BUNDLE would override Session.verify.
        response = self._session.request(
            method, f"{self.base_url}/_control{path}", timeout=timeout, verify=self.ca_bundle, **kwargs
        )
        if response.status_code >= 300:
            raise EmulatorControlError(response)
        return response.json()


def _same(actual, expected):
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return actual == expected
