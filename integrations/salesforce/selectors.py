"""Reads: the workspace's connection, user mapping, link toggles, booking sync states."""

from dataclasses import dataclass

from django.db.models import Max

from . import payloads
from .models import LinkPushSetting, SalesforceConnection, SalesforceUser, SyncOperation, UserMappingOverride
from .records import RecordLink, record_link


def connection_for_workspace(workspace) -> SalesforceConnection | None:
    """The workspace's connection, tokens not loaded: pages and the routing form decrypt
    nothing unless they actually call Salesforce (then Django loads the tokens on access)."""
    return SalesforceConnection.objects.filter(workspace=workspace).defer("access_token", "refresh_token").first()


def link_push_enabled(link) -> bool:
    """On unless the link's owner or an admin turned it off."""
    setting = LinkPushSetting.objects.filter(link=link).only("push_enabled").first()
    return True if setting is None else setting.push_enabled


@dataclass(frozen=True)
class Mapping:
    user: object
    sf_user: SalesforceUser | None
    source: str  # "override" | "email" | "none"

    @property
    def explanation(self) -> str:
        if self.sf_user is None:
            return "Not mapped: no active Salesforce user has this email. Pick one, or Events use the connecting user."
        if self.source == "override":
            return f"Mapped by an admin to {self.sf_user.name} ({self.sf_user.email})."
        return f"Matched by email to {self.sf_user.name}."


def member_mappings(connection: SalesforceConnection, users) -> dict[int, Mapping]:
    """Each user's SFDC user: an admin override, else the active org user with the same
    email (case-insensitive; the earliest-cached one if Salesforce has several)."""
    users = list(users)
    org_users = list(connection.org_users.filter(is_active=True).order_by("pk"))
    by_id = {u.sf_id: u for u in org_users}
    by_email: dict[str, SalesforceUser] = {}
    for org_user in org_users:
        by_email.setdefault(org_user.email.lower(), org_user)
    overrides = dict(
        UserMappingOverride.objects.filter(connection=connection, user__in=users).values_list("user_id", "sf_user_id")
    )
    mappings = {}
    for user in users:
        override = by_id.get(overrides.get(user.pk, ""))
        if override is not None:
            mappings[user.pk] = Mapping(user, override, "override")
        elif (matched := by_email.get(user.email.lower())) is not None:
            mappings[user.pk] = Mapping(user, matched, "email")
        else:
            mappings[user.pk] = Mapping(user, None, "none")
    return mappings


def workspace_mappings(connection: SalesforceConnection) -> list[Mapping]:
    from workestra.models import User

    users = User.objects.filter(membership__workspace=connection.workspace).order_by("email")
    mappings = member_mappings(connection, users)
    return [mappings[user.pk] for user in users]


def member_for_sf_user(connection: SalesforceConnection, sf_user_id: str):
    """The workspace member mapped to an SFDC user (routing), or None."""
    from workestra.models import User

    members = User.objects.filter(membership__workspace=connection.workspace)
    override = UserMappingOverride.objects.filter(
        connection=connection, sf_user_id=sf_user_id, user__in=members
    ).first()
    if override is not None:
        return override.user
    org_user = connection.org_users.filter(sf_id=sf_user_id, is_active=True).first()
    if org_user is None:
        return None
    overridden = UserMappingOverride.objects.filter(connection=connection).values("user_id")
    return members.filter(email__iexact=org_user.email).exclude(pk__in=overridden).first()


def latest_operations(bookings, kind: str = SyncOperation.Kind.BOOKING) -> dict[int, SyncOperation]:
    """The newest operation of each booking, in one query."""
    newest_ids = (
        SyncOperation.objects.filter(booking_id__in=[b.pk for b in bookings], kind=kind)
        .values("booking_id")
        .annotate(newest=Max("id"))
        .values("newest")
    )
    return {op.booking_id: op for op in SyncOperation.objects.filter(pk__in=newest_ids)}


def open_operations_count(connection: SalesforceConnection) -> int:
    return connection.operations.filter(state__in=SyncOperation.OPEN_STATES).count()


def recent_errors(connection: SalesforceConnection, limit: int = 10) -> list[SyncOperation]:
    """The latest failed rows and open rows carrying an error (a push that succeeds clears
    it), newest first. Two short index reads: failed rows by (workspace, state, updated_at)
    backwards, and the few open rows; never a sort of the whole outbox."""
    rows = SyncOperation.objects.filter(workspace_id=connection.workspace_id).order_by("-updated_at")
    failed = rows.filter(state=SyncOperation.State.FAILED).values_list("pk", flat=True)[:limit]
    retrying = (
        rows.filter(state__in=SyncOperation.OPEN_STATES).exclude(error_message="").values_list("pk", flat=True)[:limit]
    )
    # Ids first, rows after: joined in one query, SQLite would plan the join before the limit.
    ids = [*failed, *retrying]
    found = (
        SyncOperation.objects.filter(pk__in=ids)
        .select_related("booking__salesforce_sync")
        .order_by("-updated_at", "-id")
    )
    return list(found[:limit])


def sync_record_links(connection: SalesforceConnection, sync) -> list[RecordLink]:
    """The Event and the matched records of a BookingSync (no query: names are on the row)."""
    if sync is None:
        return []
    pairs = ((sync.sf_event_id, ""), (sync.sf_who_id, sync.sf_who_name), (sync.sf_what_id, sync.sf_what_name))
    return [link for sf_id, name in pairs if (link := record_link(connection.instance_url, sf_id, name))]


@dataclass(frozen=True)
class BookingRecord:
    role: str  # what the record is to the booking: "Event", "Contact", "Opportunity", "Owner", "Note on the contact"
    link: RecordLink


def booking_records(connection: SalesforceConnection, booking, sync) -> list[BookingRecord]:
    """The Salesforce records a booking touches, with names and Lightning links: its Event, the
    matched Contact/Lead, the Opportunity/Account, the Event's owner and the recap's Notes."""
    from notetaker.models import RecapNoteLink

    instance = connection.instance_url
    rows: list[BookingRecord] = []
    owner_name = ""
    if sync.sf_owner_id:
        owner = connection.org_users.filter(sf_id=sync.sf_owner_id).only("name").first()
        owner_name = owner.name if owner else ""
    for sf_id, name, role in (
        (sync.sf_event_id, payloads.event_subject(booking), "Event"),
        (sync.sf_who_id, sync.sf_who_name, ""),
        (sync.sf_what_id, sync.sf_what_name, ""),
        (sync.sf_owner_id, owner_name, "Owner"),
    ):
        if link := record_link(instance, sf_id, name):
            rows.append(BookingRecord(role or link.label, link))
    notes = RecapNoteLink.objects.filter(recap__booking=booking, org_id__in=("", connection.org_id)).exclude(note_id="")
    for note in notes:
        target = "the contact or lead" if note.target == RecapNoteLink.Target.PERSON else "the deal"
        if link := record_link(instance, note.note_id):
            rows.append(BookingRecord(f"Note on {target}", link))
    return rows
