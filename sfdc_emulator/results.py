"""Values passed between the REST router and its resource handlers."""

from dataclasses import dataclass, field

from .errors import SalesforceError


@dataclass
class Ctx:
    """An authenticated API call: who is calling, through which org, at which API version."""

    app: object
    actor: dict
    org: str
    version: str


@dataclass
class Result:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


def method_not_allowed(method, allowed):
    return SalesforceError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}"
    )


def require_method(method, allowed):
    if method not in allowed:
        raise method_not_allowed(method, allowed)
