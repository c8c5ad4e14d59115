"""The "Salesforce lookup" route: the email's Salesforce owner → their member → their default link.

Lookups are cached per (workspace, org, lower-cased email) for five minutes, found or not, so a
double submit or a back-and-resubmit costs no API call; failures are never cached.

The form is anonymous, so what it may spend of the customer's API allotment is bounded before
any call: lookups per form per hour (SALESFORCE_ROUTING_LOOKUPS_PER_FORM; per client, the form's
POST limit in workestra.ratelimit) and routing's own share of the org's daily allotment
(SALESFORCE_ROUTING_API_SHARE), counted per org per UTC day in the shared cache. Over either, the
invitee goes to the fallback at once, with the reason on the submission.
"""

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

from bookings.models import BookingLink
from integrations.salesforce.owner_lookup import OwnerResult, find_owner
from integrations.salesforce.selectors import connection_for_workspace, member_for_sf_user
from workestra import ratelimit
from workestra.models import User

logger = logging.getLogger("routing.salesforce")
CACHE_SECONDS = 5 * 60
BUDGET_SECONDS = 25 * 3600  # a day's spend outlives its UTC day by an hour, then goes
CACHE_KEY_PREFIX = "routing:sf-owner"
SOURCE_WORDS = {"contact": "contact", "lead": "lead", "account_domain": "account"}


@dataclass(frozen=True)
class OwnerRoute:
    """Where the lookup sends the invitee (`link`), or why it can't (`reason`)."""

    result: OwnerResult
    cached: bool = False
    member: User | None = None
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


def route_to_owner(*, workspace, email: str, form_id: int | None = None) -> OwnerRoute:
    """Never raises for Salesforce trouble: the reason says why the fallback is needed.
    `form_id` is the routing form asking, whose lookups are throttled together."""
    connection = connection_for_workspace(workspace)
    result, cached = _lookup(connection, email, form_id=form_id)
    route = OwnerRoute(result=result, cached=cached)
    if result.error:
        return replace(route, reason=result.error)
    if not result.owner_sf_id:
        return replace(route, reason="no contact, unconverted lead or account in Salesforce matches this email")
    owner = f"Salesforce owner {result.owner_label}"
    if not result.owner_is_user:
        record = SOURCE_WORDS.get(result.source or "", "record")
        return replace(route, reason=f"the {record} is owned by {result.owner_label}, a queue, not a user")
    if result.owner_active is False:
        return replace(route, reason=f"{owner} is inactive")
    if connection is None:  # cannot happen: an answer without an error came from a connection
        return replace(route, reason="Salesforce is not connected")
    member = member_for_sf_user(connection, result.owner_sf_id)
    if member is None:
        return replace(route, reason=f"{owner} is not mapped to a Workestra member")
    link = (
        BookingLink.objects.filter(workspace=workspace, owner=member, is_default=True)
        .select_related("workspace")
        .first()
    )
    if link is None:
        return replace(route, member=member, reason=f"{member.display_name} ({owner}) has no default booking link")
    return replace(route, member=member, link=link)


def _lookup(connection, email: str, *, form_id: int | None) -> tuple[OwnerResult, bool]:
    if connection is None or not connection.is_connected:
        return find_owner(connection, email), False  # answers at once, no API call
    key = _cache_key(connection, email)
    cached = _cache_get(key)
    if cached is not None:
        return replace(OwnerResult.from_dict(cached), api_calls=0), True
    refused = _over_form_limit(form_id) or _over_routing_share(connection)
    if refused is not None:
        logger.warning(
            "routing.salesforce.lookup_skipped",
            extra={"connection_id": connection.pk, "form_id": form_id, "error_kind": refused.error_kind},
        )
        return refused, False
    result = find_owner(connection, email, timeout=settings.SALESFORCE_ROUTING_TIMEOUT)
    _spend(connection, result)
    if not result.error:
        _cache_set(key, result.to_dict())
    return result, False


# ---- what the anonymous form may spend ---------------------------------------------------
def _over_form_limit(form_id: int | None) -> OwnerResult | None:
    if form_id is None:
        return None
    rate = ratelimit.Rate.parse(settings.SALESFORCE_ROUTING_LOOKUPS_PER_FORM)
    allowed, _ = ratelimit.hit(scope=f"{CACHE_KEY_PREFIX}:form", identity=str(form_id), rate=rate)
    if allowed:
        return None
    return OwnerResult(
        error=f"this form made more than {rate.count} Salesforce lookups in {_duration(rate.seconds)}, so it routes "
        "without one for now",
        error_kind="throttled",
    )


def _over_routing_share(connection) -> OwnerResult | None:
    """Routing's share of the org's daily allotment, spent? The allotment is the one the last
    lookup's answer reported, else the one the drain remembered on the connection; unknown (no
    answer seen yet), the lookup goes ahead and its answer tells it."""
    total = _cache_get(_total_key(connection)) or connection.api_usage_total
    if not total:
        return None
    spent = _cache_get(_spent_key(connection)) or 0
    allowed = int(total * settings.SALESFORCE_ROUTING_API_SHARE)
    if spent < allowed:
        return None
    return OwnerResult(
        error=f"routing lookups used their share of the org's daily Salesforce API allotment ({spent:,} of {allowed:,} "
        f"calls, {settings.SALESFORCE_ROUTING_API_SHARE * 100:g}% of {total:,}), so the lookup was skipped",
        error_kind="routing_budget",
    )


def _spend(connection, result: OwnerResult) -> None:
    """Count the calls a lookup made against routing's share (failures too: a timed-out call
    still counts in Salesforce), and remember the allotment Salesforce reported."""
    try:
        if result.daily_api_total:
            cache.set(_total_key(connection), result.daily_api_total, BUDGET_SECONDS)
        if result.api_calls:
            key = _spent_key(connection)
            if not cache.add(key, result.api_calls, BUDGET_SECONDS):
                cache.incr(key, result.api_calls)
    except Exception:
        logger.warning("routing.cache.unavailable", exc_info=True)


def _spent_key(connection) -> str:
    # Salesforce's window is a rolling 24 hours; a UTC day is the simple, slightly generous stand-in.
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"{CACHE_KEY_PREFIX}:spent:{connection.pk}:{connection.org_id}:{day}"


def _total_key(connection) -> str:
    return f"{CACHE_KEY_PREFIX}:allotment:{connection.pk}:{connection.org_id}"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"


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
