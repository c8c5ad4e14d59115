import io

import pytest
from django.core import serializers
from django.core.management import call_command

from bookings.models import AvailabilityRule, BookingLink
from workestra import demo
from workestra.models import Membership, User, Workspace

pytestmark = pytest.mark.django_db


def dump() -> str:
    """Every row the demo seeds, fully serialised (password hashes included)."""
    querysets = [
        Workspace.objects.order_by("pk"),
        User.objects.order_by("pk"),
        Membership.objects.order_by("pk"),
        BookingLink.objects.order_by("pk"),
        AvailabilityRule.objects.order_by("pk"),
    ]
    return "\n".join(serializers.serialize("json", qs) for qs in querysets)


def test_seed_demo_creates_the_acme_workspace_and_prints_the_logins():
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    workspace = Workspace.objects.get(slug="acme")
    assert workspace.name == "Acme"
    roles = dict(Membership.objects.filter(workspace=workspace).values_list("user__email", "role"))
    assert roles == {
        "admin@acme.test": "admin",
        "alice@acme.test": "member",
        "bob@acme.test": "member",
        "carol@acme.test": "member",
    }
    alice = User.objects.get(email="alice@acme.test")
    assert (alice.get_full_name(), alice.timezone) == ("Alice Adams", "Europe/London")
    assert alice.check_password("workestra-demo")
    links = {link.owner.email: link for link in BookingLink.objects.select_related("owner")}
    assert set(links) == set(roles)
    assert all(link.is_default and link.duration_minutes == 30 for link in links.values())
    assert links["alice@acme.test"].slug == "alice" and links["alice@acme.test"].title == "30 min intro with Alice"
    assert links["bob@acme.test"].availability.count() == 5
    printed = out.getvalue()
    assert "workestra-demo" in printed and "carol@acme.test" in printed and "/book/acme/carol/" in printed


def test_running_it_twice_changes_nothing():
    call_command("seed_demo", stdout=io.StringIO())
    before = dump()

    call_command("seed_demo", stdout=io.StringIO())

    assert dump() == before


def test_extension_seeders_run_with_the_workspace(monkeypatch):
    seen = []
    monkeypatch.setattr(demo, "DEMO_SEEDERS", [seen.append])

    workspace = demo.seed_demo_workspace()

    assert seen == [workspace]
