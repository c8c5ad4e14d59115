"""Writes to booking links and their weekly availability."""

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from .availability import WEEKDAYS_9_TO_5, WeeklyWindow
from .models import AvailabilityRule, BookingLink

TITLE_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 80
MIN_DURATION, MAX_DURATION = 5, 24 * 60
DEFAULT_WINDOWS = tuple(WeeklyWindow(*window) for window in WEEKDAYS_9_TO_5)


class LinkError(Exception):
    """A link change the rules refuse; `message` is meant for the member who made it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def link_create(
    *,
    owner,
    title: str,
    slug: str,
    duration_minutes: int = 30,
    is_default: bool = False,
    windows: Sequence[WeeklyWindow] | None = None,
) -> BookingLink:
    """A new link in the owner's workspace. Without `windows` it is open Monday to Friday,
    09:00-17:00 in the owner's time zone. Raises LinkError (owner without a workspace, bad
    title, slug or duration, slug taken, overlapping windows). Not idempotent."""
    membership = getattr(owner, "membership", None)
    if membership is None:
        raise LinkError("The link owner is not a member of any workspace.")
    link = BookingLink(workspace_id=membership.workspace_id, owner=owner)
    return _save(link, title, slug, duration_minutes, is_default, DEFAULT_WINDOWS if windows is None else windows)


def link_update(
    *,
    link: BookingLink,
    title: str,
    slug: str,
    duration_minutes: int,
    is_default: bool,
    windows: Sequence[WeeklyWindow],
) -> BookingLink:
    """Replace a link's settings and weekly availability. Existing bookings keep their times.
    Raises LinkError as link_create does. Idempotent."""
    return _save(link, title, slug, duration_minutes, is_default, windows)


def _save(link, title, slug, duration_minutes, is_default, windows) -> BookingLink:
    link.title = _clean_title(title)
    link.slug = _clean_slug(slug)
    link.duration_minutes = _clean_duration(duration_minutes)
    link.is_default = bool(is_default)
    windows = _clean_windows(windows)
    with transaction.atomic():
        _check_slug_free(link)
        if link.is_default:
            # One default per owner (a constraint): demote the old one first.
            BookingLink.objects.filter(owner_id=link.owner_id, is_default=True).exclude(pk=link.pk).update(
                is_default=False
            )
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:  # a concurrent request took the slug between check and save
            raise LinkError(_slug_taken_message(link.slug), field="slug") from None
        AvailabilityRule.objects.filter(link=link).delete()
        AvailabilityRule.objects.bulk_create(
            AvailabilityRule(link=link, weekday=w.weekday, start_time=w.start, end_time=w.end) for w in windows
        )
    return link


def _clean_title(title) -> str:
    title = (title or "").strip()
    if not title:
        raise LinkError("Give the link a title, like “30 min intro”.", field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise LinkError(f"The title can be at most {TITLE_MAX_LENGTH} characters.", field="title")
    return title


def _clean_slug(slug) -> str:
    slug = (slug or "").strip().lower()
    try:
        if not slug or len(slug) > SLUG_MAX_LENGTH:
            raise ValidationError("bad length")
        validate_slug(slug)
    except ValidationError:
        raise LinkError(
            f"The URL name can use only letters, numbers, hyphens and underscores (1 to {SLUG_MAX_LENGTH}).",
            field="slug",
        ) from None
    return slug


def _clean_duration(duration_minutes) -> int:
    try:
        minutes = int(duration_minutes)
    except (TypeError, ValueError):
        minutes = 0
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise LinkError(
            f"The duration must be between {MIN_DURATION} and {MAX_DURATION} minutes.", field="duration_minutes"
        )
    return minutes


def _clean_windows(windows: Iterable[WeeklyWindow]) -> list[WeeklyWindow]:
    windows = sorted(windows, key=lambda w: (w.weekday, w.start))
    for window in windows:
        if window.end <= window.start:
            raise LinkError("Each availability window must end after it starts.", field="availability")
    for earlier, later in zip(windows, windows[1:]):  # noqa: B905
        if earlier.weekday == later.weekday and later.start < earlier.end:
            day = AvailabilityRule.Weekday(earlier.weekday).label
            raise LinkError(f"Two availability windows on {day} overlap; merge them into one.", field="availability")
    return windows


def _check_slug_free(link: BookingLink) -> None:
    taken = BookingLink.objects.filter(workspace_id=link.workspace_id, slug=link.slug).exclude(pk=link.pk)
    if taken.exists():
        raise LinkError(_slug_taken_message(link.slug), field="slug")


def _slug_taken_message(slug: str) -> str:
    return f"Another link in your workspace already uses “{slug}”. Choose a different URL name."
