"""Places where other apps add to booking pages without bookings knowing them.

Each registry holds callables; apps register in their AppConfig.ready(). Bookings' views and
templates call them; a callable returns None when it has nothing to show.

- calendar_banners(request) -> list[Banner]
    Banners at the top of the calendar page (e.g. "Salesforce needs reconnect").
- booking_badges(request, bookings) -> dict[booking_id, Badge]
    One call per page for all listed bookings (no N+1): a short state per booking.
- booking_panels(request, booking) -> Panel | None
    A section on the booking page, shown to the signed-in host (or an admin) only.
- link_integration_panels(request, link) -> Panel | None
    A section on the link's Integrations tab.
- deletion_blockers(bookings) -> dict[booking_id, reason]
    Why a booking must not be deleted yet (e.g. its Event is still live in Salesforce and
    deleting the row would leave it there). One call for all bookings being deleted; see
    bookings.deletion, which refuses the deletion with the reasons.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Banner:
    level: str  # "info" | "warning" | "error"
    message: str
    action_url: str = ""
    action_label: str = ""
    # "post": the action is a form (e.g. start a reconnect) with these hidden fields.
    action_method: str = "get"
    action_fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Badge:
    label: str
    level: str = "info"  # "ok" | "info" | "warning" | "error" | "neutral"
    detail: str = ""
    url: str = ""  # the record the badge is about, in the other app (e.g. the Salesforce Event)
    url_label: str = ""
    note: str = ""  # a short second line, e.g. the matched records' names
    links: tuple[tuple[str, str], ...] = ()  # (name, url) of each record the note names, in its order


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict = field(default_factory=dict)


calendar_banners: list = []
booking_badges: list = []
booking_panels: list = []
link_integration_panels: list = []
deletion_blockers: list = []


def collect_banners(request) -> list[Banner]:
    return [banner for hook in calendar_banners for banner in (hook(request) or [])]


def collect_badges(request, bookings) -> dict[int, list[Badge]]:
    badges: dict[int, list[Badge]] = {}
    for hook in booking_badges:
        for booking_id, badge in (hook(request, bookings) or {}).items():
            badges.setdefault(booking_id, []).append(badge)
    return badges


def collect_panels(registry: list, request, obj) -> list[Panel]:
    return [panel for hook in registry if (panel := hook(request, obj)) is not None]


def collect_deletion_blocks(bookings) -> dict[int, list[str]]:
    bookings = list(bookings)
    blocks: dict[int, list[str]] = {}
    if not bookings:
        return blocks
    for hook in deletion_blockers:
        for booking_id, reason in (hook(bookings) or {}).items():
            blocks.setdefault(booking_id, []).append(reason)
    return blocks
