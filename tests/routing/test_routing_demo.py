"""The demo's "contact-sales" form (SPEC §6)."""

import pytest

from routing.demo import seed_contact_sales_form
from routing.models import RoutingForm
from workestra import demo

pytestmark = pytest.mark.django_db


def test_the_demo_form_looks_up_salesforce_and_falls_back_to_alice():
    workspace = demo.seed_demo_workspace()

    form = seed_contact_sales_form(workspace)

    assert (form.name, form.slug, form.get_public_path()) == (
        "Talk to sales",
        "contact-sales",
        "/forms/acme/contact-sales/",
    )
    assert [(q.key, q.kind, q.required) for q in form.questions.all()] == [
        ("name", "short_text", False),
        ("email", "email", True),
        ("company", "short_text", True),
    ]
    routes = list(form.routes.select_related("link__owner"))
    assert [(r.action, r.is_fallback, r.conditions) for r in routes] == [
        ("salesforce_lookup", False, []),
        ("booking_link", True, []),
    ]
    assert routes[1].link.owner.email == "alice@acme.test" and routes[1].link.is_default


def test_seeding_twice_changes_nothing():
    workspace = demo.seed_demo_workspace()
    first = seed_contact_sales_form(workspace)
    snapshot = list(first.routes.values()) + list(first.questions.values())

    second = seed_contact_sales_form(workspace)

    assert second.pk == first.pk and RoutingForm.objects.count() == 1
    assert list(second.routes.values()) + list(second.questions.values()) == snapshot


def test_seed_demo_includes_the_form():
    assert seed_contact_sales_form in demo.DEMO_SEEDERS
    workspace = demo.seed_demo_workspace()
    assert RoutingForm.objects.filter(workspace=workspace, slug="contact-sales").exists()
