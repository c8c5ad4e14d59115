import pytest

from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_with_email_and_password_lands_on_the_calendar(client, member_user):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and '<label for="id_username">Email</label>' in page.content.decode()

    response = client.post("/accounts/login/", {"username": "member@acme.test", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/calendar/")
    assert client.get("/calendar/").status_code == 200


def test_a_wrong_password_is_refused_on_the_page(client, member_user):
    response = client.post("/accounts/login/", {"username": "member@acme.test", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_returns_to_the_page_asked_for(client, member_user):
    credentials = {"username": "member@acme.test", "password": PASSWORD, "next": "/links/"}

    response = client.post("/accounts/login/?next=/links/", credentials)

    assert response["Location"] == "/links/"


def test_sign_out_is_a_post_and_ends_the_session(client, member_user):
    client.force_login(member_user)
    assert 'action="/accounts/logout/"' in client.get("/calendar/").content.decode()

    response = client.post("/accounts/logout/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert client.get("/calendar/").status_code == 302


def test_home_redirects_to_the_calendar_or_sign_in(client, member_user):
    assert client.get("/")["Location"] == "/accounts/login/"
    client.force_login(member_user)
    assert client.get("/")["Location"] == "/calendar/"


def test_the_nav_shows_member_links_and_admin_only_settings(client, member_user, admin_user):
    client.force_login(member_user)
    member_nav = client.get("/calendar/").content.decode()
    client.force_login(admin_user)
    admin_nav = client.get("/calendar/").content.decode()

    assert 'href="/calendar/"' in member_nav and 'href="/links/"' in member_nav
    assert 'href="/settings/integrations/salesforce/"' not in member_nav
    assert 'href="/settings/integrations/salesforce/"' in admin_nav
