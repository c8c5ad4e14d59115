"""Django admin: forms with questions and routes inline; submissions read-only with filters."""

import pytest

from routing.models import Submission
from tests.fixtures.factories import make_link
from tests.routing.routing_support import save_form, sf_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(workspace, member_user):
    return save_form(workspace, routes=[sf_route()], fallback=make_link(member_user, slug="mia", is_default=True))


def test_the_form_change_page_shows_questions_and_routes_inline(admin_client, form):
    html = admin_client.get(f"/admin/routing/routingform/{form.pk}/change/").content.decode()

    assert "questions-TOTAL_FORMS" in html and "routes-TOTAL_FORMS" in html
    assert "salesforce_lookup" in html


def test_the_routes_inline_refuses_a_form_without_a_fallback(admin_client, form):
    page = admin_client.get(f"/admin/routing/routingform/{form.pk}/change/")
    data = _resubmit(page.context["adminform"].form, page.context["inline_admin_formsets"])
    del data["routes-1-is_fallback"]

    response = admin_client.post(f"/admin/routing/routingform/{form.pk}/change/", data)

    assert response.status_code == 200
    assert "A form needs exactly one fallback route." in response.content.decode()
    assert form.routes.filter(is_fallback=True).count() == 1


def test_submissions_are_listed_filtered_and_searched(admin_client, client, form):
    client.post(form.get_public_path(), {"email": "findme@example.com"})
    client.post(form.get_public_path(), {"email": "other@example.com"})
    submission = Submission.objects.get(email="findme@example.com")

    listing = admin_client.get("/admin/routing/submission/", {"q": "findme"}).content.decode()
    assert "findme@example.com" in listing and "other@example.com" not in listing
    filtered = admin_client.get(
        "/admin/routing/submission/",
        {"used_fallback__exact": "1", "route_action__exact": "salesforce_lookup", "form__id__exact": form.pk},
    )
    assert filtered.status_code == 200
    detail = admin_client.get(f"/admin/routing/submission/{submission.pk}/change/")
    assert detail.status_code == 200 and "Salesforce is not connected" in detail.content.decode()


def _resubmit(form, inline_formsets) -> dict:
    """The change form's current values, as the browser would post them back."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, False):
            data[name] = value
    for inline in inline_formsets:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value is True:
                    value = "on"
                if value not in (None, False, ""):
                    data[sub.add_prefix(name)] = value
    return data
