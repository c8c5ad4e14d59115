"""The demo workspace that `manage.py seed_demo` creates. Idempotent: a second run changes nothing.

Other apps add their demo data by appending a callable to DEMO_SEEDERS (it receives the
workspace and must be idempotent too).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from bookings.link_services import link_create
from bookings.models import BookingLink
from routing.demo import seed_contact_sales_form

from .models import Membership, User, Workspace

DEMO_PASSWORD = "workestra-demo"  # nosec B105  # the demo password, public in the README  # noqa: S105
DEMO_WORKSPACE_SLUG = "acme"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    timezone: str
    role: str = Membership.Role.MEMBER

    @property
    def link_slug(self) -> str:
        return self.first_name.lower()


DEMO_PEOPLE = (
    DemoPerson("admin@acme.test", "Ada", "Admin", "UTC", Membership.Role.ADMIN),
    DemoPerson("alice@acme.test", "Alice", "Adams", "Europe/London"),
    DemoPerson("bob@acme.test", "Bob", "Brown", "America/New_York"),
    DemoPerson("carol@acme.test", "Carol", "Chen", "America/Los_Angeles"),
)

# --- extension point --------------------------------------------------------------------
# Append idempotent callables taking the demo Workspace (e.g. the routing form "contact-sales").
DEMO_SEEDERS: list[Callable[[Workspace], object]] = [seed_contact_sales_form]


def seed_demo_workspace() -> Workspace:
    """Create (or leave as is) the Acme workspace, its people and their default links."""
    with transaction.atomic():
        workspace, _ = Workspace.objects.get_or_create(slug=DEMO_WORKSPACE_SLUG, defaults={"name": "Acme"})
        for person in DEMO_PEOPLE:
            _seed_person(workspace, person)
        for seeder in DEMO_SEEDERS:
            seeder(workspace)
    return workspace


def _seed_person(workspace: Workspace, person: DemoPerson) -> User:
    user = User.objects.filter(email=person.email).first()
    if user is None:
        user = User.objects.create_user(
            email=person.email,
            password=DEMO_PASSWORD,
            first_name=person.first_name,
            last_name=person.last_name,
            timezone=person.timezone,
            # The demo admin can also open /admin/ as support staff would.
            is_staff=person.role == Membership.Role.ADMIN,
            is_superuser=person.role == Membership.Role.ADMIN,
        )
    Membership.objects.get_or_create(user=user, defaults={"workspace": workspace, "role": person.role})
    if not BookingLink.objects.filter(workspace=workspace, slug=person.link_slug).exists():
        link_create(
            owner=user,
            title=f"30 min intro with {person.first_name}",
            slug=person.link_slug,
            duration_minutes=30,
            is_default=True,
        )
    return user
