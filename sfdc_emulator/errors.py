"""Salesforce's error bodies, as exceptions the handlers raise.

REST errors are a JSON *array* of ``{"message", "errorCode", "fields"}``
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
OAuth errors are a JSON *object* ``{"error", "error_description"}``.
"""


class SalesforceError(Exception):
    """A REST error: HTTP status plus the list of error entries Salesforce returns."""

    def __init__(self, status, error_code, message, fields=None):
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.errors = [_entry(error_code, message, fields)]

    @property
    def error_code(self):
        return self.errors[0]["errorCode"]

    def save_result_errors(self):
        """The same errors in the SaveResult shape used by sObject Collections."""
        return [
            {"statusCode": e["errorCode"], "message": e["message"], "fields": e.get("fields", [])} for e in self.errors
        ]


class OAuthError(Exception):
    """An OAuth token/revoke endpoint error (RFC 6749 §5.2 shape)."""

    def __init__(self, error, description, status=400):
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self):
        return {"error": self.error, "error_description": self.description}


def _entry(error_code, message, fields):
    # Record-save errors carry "fields"; session, query and routing errors do not.
    entry = {"message": message, "errorCode": error_code}
    if fields is not None:
        entry["fields"] = list(fields)
    return entry


def not_found():
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def entity_is_deleted(status=404, fields=()):
    return SalesforceError(status, "ENTITY_IS_DELETED", "entity is deleted", fields)


def invalid_session():
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded():
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def malformed_query(message):
    return SalesforceError(400, "MALFORMED_QUERY", message)


def json_parser_error(message):
    return SalesforceError(400, "JSON_PARSER_ERROR", message)
