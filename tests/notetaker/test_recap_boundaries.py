"""The notetaker is a generic app: it never imports a CRM provider; a provider plugs into
notetaker.hooks. Without one, recaps are still received and shown."""

import ast
from pathlib import Path

import pytest

from notetaker import hooks
from notetaker.models import Recap
from tests.notetaker.recap_support import post_recap, recap_payload

NOTETAKER = Path(__file__).resolve().parents[2] / "notetaker"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_notetaker_module_imports_integrations():
    offenders = {
        str(path.relative_to(NOTETAKER.parent)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "integrations"
        )
        for path in NOTETAKER.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert len(offenders) >= 10  # the scan saw the package


def test_salesforce_registers_itself_as_the_recap_destination():
    destination = hooks.destination()
    assert type(destination).__module__ == "integrations.salesforce.recap_destination"
    assert destination.name == "Salesforce"


@pytest.mark.django_db
def test_without_a_crm_recaps_are_stored_and_the_panel_says_why_there_is_no_push(
    client, booking, member_user, monkeypatch
):
    monkeypatch.setattr(hooks, "recap_destinations", [])

    response = post_recap(client, recap_payload(booking))

    assert response.status_code == 201 and response.json()["crm"] == "not_queued"
    assert Recap.objects.filter(booking=booking).exists()
    client.force_login(member_user)
    page = client.get(booking.get_absolute_url()).content.decode()
    assert "No CRM is connected for recaps." in page
    assert 'id="recap-push-button" disabled' in page and "Push to a CRM" in page
