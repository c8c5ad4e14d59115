"""Time zone names from users and query strings, resolved without ever raising.

Invitees pick from a curated list: the zones of tzdata's zone.tab (each named for a place
people live, one or more per country), plus UTC. That leaves out what zoneinfo also knows but
nobody should pick: backward-compatibility links (US/Eastern, Asia/Calcutta, Europe/Kiev, GB,
UCT), Etc/GMT+5 and friends, localtime, Factory. A link a browser still reports (Chrome says
Asia/Calcutta) is read as the zone it links to, using tzdata.zi's link lines.
"""

import functools
import logging
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)
UTC_NAME = "UTC"
_UTC_TARGET = "Etc/UTC"  # tzdata's own name of UTC; "UTC" itself is a link to it


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


# ---- the curated list shown to invitees ----------------------------------------------------
def _tzdata_file(name: str) -> Path | None:
    for folder in zoneinfo.TZPATH:
        if (path := Path(folder) / name).is_file():
            return path
    try:  # the tzdata package, where the system has no zone files
        from importlib.resources import files

        resource = files("tzdata.zoneinfo") / name
        return Path(str(resource)) if resource.is_file() else None
    except (ImportError, ModuleNotFoundError, TypeError):
        return None


@functools.cache
def canonical_timezone_names() -> tuple[str, ...]:
    """The zones an invitee may pick, sorted: zone.tab's, plus UTC."""
    path = _tzdata_file("zone.tab")
    if path is None:  # no zone.tab: fall back to Area/City names that are not links
        logger.warning("bookings.timezones.no_zone_tab")
        names = {n for n in _valid_names() if "/" in n and n.split("/")[0] in _AREAS} - set(_links())
    else:
        rows = (line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#"))
        names = {row[2].strip() for row in rows if len(row) >= 3}
    return tuple(sorted((names & _valid_names()) | {UTC_NAME}))


_AREAS = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}


@functools.cache
def _links() -> dict[str, str]:
    """alias → target, from tzdata.zi's "L target alias" lines (empty if the file is absent)."""
    path = _tzdata_file("tzdata.zi")
    if path is None:
        return {}
    links = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


def canonical_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The listed zone `name` means: itself, or the listed zone a backward link points to
    (Asia/Calcutta → Asia/Kolkata, UCT → UTC). None for anything else (never raises)."""
    if not name or len(name) > 64:
        return None
    listed = _listed()
    target = name if name in listed or name == _UTC_TARGET else _links().get(name, "")
    if target == _UTC_TARGET:
        target = UTC_NAME
    return zoneinfo.ZoneInfo(target) if target in listed else None


@functools.cache
def _listed() -> frozenset[str]:
    return frozenset(canonical_timezone_names())


def zone_choices(now: datetime | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(area, [(name, label)]) for the picker: "London (UTC+00:00)" under "Europe"."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return _zone_choices_at(now)


@functools.lru_cache(maxsize=2)  # offsets change on the hour at most: one list per hour
def _zone_choices_at(now: datetime) -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in canonical_timezone_names():
        area, _, place = name.partition("/")
        offset = now.astimezone(zoneinfo.ZoneInfo(name)).strftime("%z")
        label = f"{(place or area).replace('_', ' ')} (UTC{offset[:3]}:{offset[3:]})"
        groups.setdefault(area if place else "", []).append((name, label))
    return sorted(groups.items())
