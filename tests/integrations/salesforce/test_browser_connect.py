"""An admin connects Salesforce in a real browser: settings page → Production → Connect →
the emulator's sign-in and consent → back on the settings page, connected; then maps Carol
by hand and picks Events + Notes."""

from pathlib import Path

import pytest

from integrations.salesforce.models import SalesforceConnection, UserMappingOverride
from sfdc_emulator import seed
from tests.fixtures.factories import PASSWORD, make_member

pytestmark = [pytest.mark.browser, pytest.mark.emulator, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.fixture
def emulator_page(browser):
    """A page that accepts the emulator's self-signed certificate (its CA isn't in Chromium's store)."""
    context = browser.new_context(
        viewport={"width": 1100, "height": 900}, locale="en-GB", timezone_id="UTC", ignore_https_errors=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_admin_connects_maps_and_saves_in_the_browser(
    emulator_page, live_server, sf_settings, sfdc_emulator, workspace, admin_user
):
    sf_settings.PUBLIC_BASE_URL = live_server.url
    carol = make_member(workspace, "carol@acme.test", first_name="Carol")
    page = emulator_page

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(admin_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/calendar/")

    page.goto(f"{live_server.url}/settings/integrations/salesforce/")
    page.get_by_label("Production").check()
    page.get_by_role("button", name="Connect", exact=True).click()

    page.wait_for_url(f"{sfdc_emulator.login_url}/services/oauth2/authorize**")
    page.locator("#username").fill(seed.ADMIN)
    page.locator("#password").fill(seed.PASSWORD)
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/")
    status = page.locator("#sf-status")
    assert status.inner_text().startswith("Connected as Ada Admin (admin@acme.test) to Acme Corp (Production)")

    page.get_by_role("link", name="User mapping").click()
    # The org's users are fetched by a worker after a connect; this test has none, so the
    # admin's own Refresh does what the worker would.
    page.get_by_role("button", name="Refresh Salesforce users").click()
    page.get_by_text("Fetched 7 Salesforce users.").wait_for()
    page.get_by_label("Salesforce user for carol@acme.test").select_option(label="Carol Chen (carol.sales@acme.test)")
    page.get_by_role("button", name="Save mapping").click()
    page.get_by_text("User mapping saved (1 changed).").wait_for()
    assert "set by admin" in page.locator('tr[data-member="carol@acme.test"]').inner_text()

    page.goto(f"{live_server.url}/settings/integrations/salesforce/")
    page.get_by_label("Events + Notes (for recap push)").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Salesforce settings saved.").wait_for()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "salesforce-settings-connected.png"), full_page=True)
    connection = SalesforceConnection.objects.get(workspace=workspace)
    assert connection.status == SalesforceConnection.Status.CONNECTED
    assert connection.object_scope == SalesforceConnection.ObjectScope.EVENTS_AND_NOTES
    assert UserMappingOverride.objects.get(connection=connection, user=carol).sf_user_id == seed.USER_IDS[seed.CAROL]
