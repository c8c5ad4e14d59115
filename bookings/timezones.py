"""Time zone names from users and query strings, resolved without ever raising."""
import functools
import zoneinfo


@functools.cache
def all_timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def _valid_names() -> frozenset[str]:
    return frozenset(all_timezone_names())


def zone_or_none(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone called `name`, or None for an empty or unknown name (never raises)."""
    if not name or name not in _valid_names():
        return None
    return zoneinfo.ZoneInfo(name)


def user_zone(user) -> zoneinfo.ZoneInfo:
    """A user's own zone; UTC if their stored name is somehow not a zone."""
    return zone_or_none(getattr(user, "timezone", None)) or zoneinfo.ZoneInfo("UTC")
