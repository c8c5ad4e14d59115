"""The "Salesforce lookup" route: the email's Salesforce owner → their member → their default link.

Lookups are cached per (workspace, org, lower-cased email) for five minutes, so a double
submit or a back-and-resubmit costs no API call; failures are never cached.
"""
import hashlib
import logging
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.cache import cache

from bookings.models import BookingLink
from integrations.salesforce.owner_lookup import OwnerResult, find_owner
from integrations.salesforce.selectors import connection_for_workspace, member_for_sf_user

logger = logging.getLogger("routing.salesforce")
CACHE_SECONDS = 5 * 60
CACHE_KEY_PREFIX = "routing:sf-owner"
SOURCE_WORDS = {"contact": "contact", "lead": "lead", "account_domain": "account"}


@dataclass(frozen=True)
class OwnerRoute:
    """Where the lookup sends the invitee (`link`), or why it can't (`reason`)."""

    result: OwnerResult
    cached: bool = False
    member: object = None
    link: BookingLink | None = None
    reason: str = ""

    @property
    def explanation(self) -> str:
        if self.result.error:
            return ""
        text = self.result.explanation
        if self.result.owner_sf_id:
            text += f"; owned by {self.result.owner_label}"
        if self.member is not None:
            text += f", who is {self.member.display_name} in Workestra"
        if self.cached:
            text += " (looked up less than 5 minutes ago; no API call)"
        return text


def route_to_owner(*, workspace, email: str) -> OwnerRoute:
    """Never raises for Salesforce trouble: the reason says why the fallback is needed."""
    connection = connection_for_workspace(workspace)
    result, cached = _lookup(connection, email)
    route = OwnerRoute(result=result, cached=cached)
    if result.error:
        return replace(route, reason=result.error)
    if not result.owner_sf_id:
        return replace(route, reason="no contact, unconverted lead or account in Salesforce matches this email")
    owner = f"Salesforce owner {result.owner_label}"
    if not result.owner_is_user:
        record = SOURCE_WORDS[result.source]
        return replace(route, reason=f"the {record} is owned by {result.owner_label}, a queue, not a user")
    if result.owner_active is False:
        return replace(route, reason=f"{owner} is inactive")
    member = member_for_sf_user(connection, result.owner_sf_id)
    if member is None:
        return replace(route, reason=f"{owner} is not mapped to a Workestra member")
    link = BookingLink.objects.filter(workspace=workspace, owner=member, is_default=True).select_related("workspace").first()
    if link is None:
        return replace(route, member=member, reason=f"{member.display_name} ({owner}) has no default booking link")
    return replace(route, member=member, link=link)


def _lookup(connection, email: str) -> tuple[OwnerResult, bool]:
    if connection is None or not connection.is_connected:
        return find_owner(connection, email), False  # answers at once, no API call
    key = _cache_key(connection, email)
    cached = _cache_get(key)
    if cached is not None:
        return replace(OwnerResult.from_dict(cached), api_calls=0), True
    result = find_owner(connection, email, timeout=settings.SALESFORCE_ROUTING_TIMEOUT)
    if not result.error:
        _cache_set(key, result.to_dict())
    return result, False


def _cache_key(connection, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"{CACHE_KEY_PREFIX}:{connection.workspace_id}:{connection.org_id}:{digest}"


# The cache is an optimisation: if Redis is down, look up instead of failing the invitee.
def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:
        logger.warning("routing.cache.unavailable", exc_info=True)
        return None


def _cache_set(key: str, value: dict) -> None:
    try:
        cache.set(key, value, CACHE_SECONDS)
    except Exception:
        logger.warning("routing.cache.unavailable", exc_info=True)
