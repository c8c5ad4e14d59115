"""The editor's markup for static/js/routing_builder.js, and the submissions' short "why"."""

import pytest

from routing.models import Submission
from routing.views.builder import why_summary
from tests.fixtures.factories import make_link

pytestmark = pytest.mark.django_db


def test_the_editor_marks_each_actions_fields_and_carries_an_empty_row_per_formset(client, admin_user):
    make_link(admin_user, slug="intro", title="Intro")
    client.force_login(admin_user)

    html = client.get("/routing/new/").content.decode()

    assert '<script src="/static/js/routing_builder.js" defer></script>' in html
    assert html.count('data-action-select=""') == 3  # route 0, the empty row's template and the fallback
    assert '<div data-show-for="booking_link"><label for="id_routes-0-link"' in html
    assert '<div data-show-for="message"><label for="id_routes-0-message"' in html
    template = html[html.index('<template id="routes-empty-row">') :]
    template = template[: template.index("</template>")]
    assert 'name="routes-__prefix__-action"' in template and 'id="id_routes-__prefix__-link"' in template
    assert 'name="questions-__prefix__-label"' in html
    assert '<button type="button" class="secondary" data-formset-add="routes" hidden>Add a route</button>' in html
    assert 'id="id_routes-MAX_NUM_FORMS"' in html


@pytest.mark.parametrize(
    "explanation,fallback,reason,summary",
    [
        (
            "Route 1 matched (size equals “100+”); booking link “Mia's intro” of Mia Member",
            False,
            "",
            "Route 1 matched (size equals “100+”)",
        ),
        (
            "Route 2 (no conditions): Salesforce lookup; no contact has the email; fallback: none",
            True,
            "none",
            "Route 2 (no conditions): Salesforce lookup → fallback: none",
        ),
        (
            "fallback: no route's conditions matched; booking link “Intro” of Alice",
            True,
            "no route's conditions matched",
            "Fallback: no route's conditions matched",
        ),
        (
            "Route 3 matched (company contains “a very long value that goes on and on and on”)",
            False,
            "",
            "Route 3 matched (company contains “a very long value that goes on and…",
        ),
    ],
)
def test_why_fits_in_a_line(explanation, fallback, reason, summary):
    assert why_summary(Submission(explanation=explanation, used_fallback=fallback, fallback_reason=reason)) == summary
