"""Signed-in pages: calendar, links, link edit and its Integrations tab; tenancy on each."""

from datetime import time, timedelta

import pytest

from bookings import hooks
from bookings.availability import link_free_slots
from bookings.models import AvailabilityRule, BookingLink
from tests.fixtures.factories import make_booking, make_link, make_member

pytestmark = pytest.mark.django_db


def formset_data(windows, prefix="availability"):
    """The availability rows as a browser posts them, with the blank extra row at the end."""
    rows = [*windows, ("", "", "")]
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for i, (weekday, start, end) in enumerate(rows):
        data.update(
            {f"{prefix}-{i}-weekday": weekday, f"{prefix}-{i}-start_time": start, f"{prefix}-{i}-end_time": end}
        )
    return data


def link_data(**overrides):
    fields = {"title": "Demo call", "slug": "demo", "duration_minutes": "45"}
    return {**fields, **formset_data([(0, "10:00", "12:00")]), **overrides}


@pytest.fixture
def signed_in(client, member_user):
    client.force_login(member_user)
    return client


@pytest.fixture
def other_workspace_objects(other_workspace_member):
    link = make_link(other_workspace_member, slug="globex-intro")
    return link, make_booking(link)


# --- calendar ---------------------------------------------------------------------------------


def test_calendar_lists_my_upcoming_bookings_in_my_zone(client, link, member_user, admin_user):
    member_user.timezone = "Europe/London"
    member_user.save()
    mine = make_booking(link, name="Jane Roe")
    past = make_booking(link, start=mine.start_at - timedelta(days=30), name="Old Meeting")
    theirs = make_booking(make_link(admin_user, slug="admin"), name="Admins Guest")
    client.force_login(member_user)

    html = client.get("/calendar/").content.decode()

    assert "Jane Roe" in html and "Old Meeting" not in html and "Admins Guest" not in html
    assert f'href="/bookings/{mine.uid}/"' in html
    assert "Times in Europe/London." in html
    assert past.pk and theirs.pk


def test_admins_see_the_whole_workspace_with_all_1_members_do_not(client, link, admin_user, member_user):
    make_booking(link, name="Member Guest")
    make_booking(make_link(admin_user, slug="admin"), name="Admin Guest")

    client.force_login(admin_user)
    admin_all = client.get("/calendar/?all=1").content.decode()
    client.force_login(member_user)
    member_all = client.get("/calendar/?all=1").content.decode()

    assert "Member Guest" in admin_all and "Admin Guest" in admin_all
    assert "Member Guest" in member_all and "Admin Guest" not in member_all


def test_calendar_shows_banners_and_badges_without_n_plus_1(signed_in, link, django_assert_max_num_queries):
    slots = link_free_slots(link)
    for i in range(8):
        make_booking(link, start=slots[i], name=f"Guest {i}")
    calls = []

    def badges(request, bookings):
        calls.append(len(bookings))
        return {b.pk: hooks.Badge("Synced", "ok", detail="Event 00U1") for b in bookings}

    def banners(request):
        return [hooks.Banner("error", "Salesforce needs reconnect", "/settings/integrations/salesforce/", "Reconnect")]

    hooks.booking_badges.append(badges)
    hooks.calendar_banners.append(banners)

    # session + user + membership, count + page: a constant however many bookings are listed.
    with django_assert_max_num_queries(6):
        html = signed_in.get("/calendar/").content.decode()

    assert calls == [8]
    assert html.count(">Synced</span>") == 8
    assert html.index("Salesforce needs reconnect") < html.index("Upcoming meetings")
    assert 'href="/settings/integrations/salesforce/">Reconnect</a>' in html


def test_calendar_never_shows_another_workspace(client, other_workspace_objects, admin_user):
    client.force_login(admin_user)

    html = client.get("/calendar/?all=1").content.decode()

    assert other_workspace_objects[1].uid not in html
    assert "No upcoming meetings" in html


# --- links ------------------------------------------------------------------------------------


def test_members_list_their_links_and_admins_all_links(client, link, member_user, admin_user):
    make_link(admin_user, slug="admin-call", title="Admin call")

    client.force_login(member_user)
    mine = client.get("/links/").content.decode()
    client.force_login(admin_user)
    everyone = client.get("/links/").content.decode()

    assert "30 min intro" in mine and "Admin call" not in mine
    assert "30 min intro" in everyone and "Admin call" in everyone and "Mia Member" in everyone


def test_create_a_link_with_availability(signed_in, member_user):
    response = signed_in.post("/links/new/", link_data(is_default="on"))

    link = BookingLink.objects.get(slug="demo")
    assert response.status_code == 302 and response["Location"] == f"/links/{link.pk}/edit/"
    assert (link.owner, link.title, link.duration_minutes, link.is_default) == (member_user, "Demo call", 45, True)
    assert list(link.availability.values_list("weekday", "start_time", "end_time")) == [(0, time(10), time(12))]


def test_the_new_link_form_starts_with_weekdays_nine_to_five(signed_in):
    html = signed_in.get("/links/new/").content.decode()

    assert html.count('value="09:00"') == 5 and html.count('value="17:00"') == 5


def test_a_taken_slug_is_refused_with_a_clear_message(signed_in, link, admin_user):
    make_link(admin_user, slug="taken")

    response = signed_in.post("/links/new/", link_data(slug="taken"))

    assert response.status_code == 400
    assert "Another link in your workspace already uses “taken”" in response.content.decode()
    assert BookingLink.objects.filter(slug="taken").count() == 1


def test_the_same_slug_in_another_workspace_is_fine(signed_in, other_workspace_objects):
    response = signed_in.post("/links/new/", link_data(slug="globex-intro"))

    assert response.status_code == 302


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"slug": "has spaces"}, "Enter a valid “slug”"),
        ({"title": ""}, "This field is required."),
        ({"duration_minutes": "2"}, "greater than or equal to 5"),
        ({**formset_data([(0, "12:00", "10:00")])}, "must end after it starts"),
        (
            {**formset_data([(0, "09:00", "12:00"), (0, "11:00", "13:00")])},
            "Two availability windows on Monday overlap",
        ),
    ],
)
def test_bad_link_input_is_shown_with_400(signed_in, overrides, message):
    response = signed_in.post("/links/new/", link_data(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BookingLink.objects.filter(slug="demo").exists()


def test_edit_replaces_settings_and_availability(signed_in, link):
    data = link_data(title="Renamed", slug="renamed", **formset_data([(2, "08:00", "09:30"), (4, "13:00", "15:00")]))

    response = signed_in.post(f"/links/{link.pk}/edit/", data)

    link.refresh_from_db()
    assert response.status_code == 302
    assert (link.title, link.slug, link.duration_minutes) == ("Renamed", "renamed", 45)
    assert list(link.availability.values_list("weekday", "start_time", "end_time")) == [
        (2, time(8), time(9, 30)),
        (4, time(13), time(15)),
    ]


def test_edit_shows_current_availability_and_removes_deleted_rows(signed_in, link):
    page = signed_in.get(f"/links/{link.pk}/edit/").content.decode()
    assert page.count('value="09:00"') == 5
    data = link_data(**formset_data([(d, "09:00", "17:00") for d in range(5)]))
    data.update({"availability-INITIAL_FORMS": "5", "availability-4-DELETE": "on"})

    signed_in.post(f"/links/{link.pk}/edit/", data)

    assert sorted(AvailabilityRule.objects.filter(link=link).values_list("weekday", flat=True)) == [0, 1, 2, 3]


def test_making_a_link_default_demotes_the_old_default(signed_in, link, member_user):
    other = make_link(member_user, slug="second")

    signed_in.post(f"/links/{other.pk}/edit/", link_data(slug="second", is_default="on"))

    link.refresh_from_db()
    other.refresh_from_db()
    assert (link.is_default, other.is_default) == (False, True)


def test_a_member_cannot_edit_someone_elses_link_but_an_admin_can(client, member_user, admin_user):
    admins_link = make_link(admin_user, slug="admin-call")
    other_member = make_member(member_user.membership.workspace, "pat@acme.test")
    pats_link = make_link(other_member, slug="pat")

    client.force_login(member_user)
    assert client.get(f"/links/{admins_link.pk}/edit/").status_code == 403
    assert client.post(f"/links/{pats_link.pk}/edit/", link_data(slug="pat")).status_code == 403
    assert client.get(f"/links/{pats_link.pk}/integrations/").status_code == 403
    client.force_login(admin_user)
    assert client.get(f"/links/{pats_link.pk}/edit/").status_code == 200
    assert (
        client.post(f"/links/{pats_link.pk}/edit/", link_data(slug="pat", title="Edited by admin")).status_code == 302
    )
    pats_link.refresh_from_db()
    assert pats_link.title == "Edited by admin" and pats_link.owner == other_member


def test_integrations_tab_renders_panels_or_an_empty_state(signed_in, link):
    empty = signed_in.get(f"/links/{link.pk}/integrations/").content.decode()

    def panel(request, for_link):
        return hooks.Panel("bookings/_test_panel.html", {"text": f"Push to Salesforce for {for_link.slug}"})

    hooks.link_integration_panels.append(panel)
    with_panel = signed_in.get(f"/links/{link.pk}/integrations/").content.decode()

    assert "No integrations for this link yet." in empty
    assert "Push to Salesforce for intro" in with_panel
    assert "No integrations for this link yet." not in with_panel


# --- tenancy: every member-facing view, another workspace's objects are 404 -----------------


@pytest.mark.parametrize(
    "method, path",
    [("get", "/links/{link}/edit/"), ("post", "/links/{link}/edit/"), ("get", "/links/{link}/integrations/")],
)
def test_another_workspaces_link_is_404_even_for_an_admin(client, admin_user, other_workspace_objects, method, path):
    other_link = other_workspace_objects[0]
    client.force_login(admin_user)

    response = getattr(client, method)(path.format(link=other_link.pk), link_data(slug="stolen"))

    assert response.status_code == 404
    other_link.refresh_from_db()
    assert other_link.slug == "globex-intro"


def test_another_workspaces_links_are_not_listed(client, admin_user, other_workspace_objects):
    client.force_login(admin_user)

    assert "globex-intro" not in client.get("/links/").content.decode()


@pytest.mark.parametrize("path", ["/calendar/", "/links/", "/links/new/", "/links/1/edit/", "/links/1/integrations/"])
def test_member_pages_need_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_user_without_a_workspace_gets_404(client, db):
    from workestra.models import User

    client.force_login(User.objects.create_user(email="loner@example.com", password="x"))

    assert client.get("/calendar/").status_code == 404
    assert client.get("/links/").status_code == 404


# --- the member page that Salesforce records link to ----------------------------------------------
def test_the_member_booking_page_needs_a_sign_in_and_leads_the_host_to_the_booking(client, member_user):
    booking = make_booking(make_link(member_user))
    path = booking.get_member_path()

    anonymous = client.get(path)
    client.force_login(member_user)
    signed_in = client.get(path)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert booking.uid not in anonymous["Location"]
    assert signed_in.status_code == 302 and signed_in["Location"] == booking.get_absolute_url()


def test_the_member_booking_page_of_another_workspace_is_404(client, member_user, other_workspace_objects):
    _, foreign_booking = other_workspace_objects
    client.force_login(member_user)

    assert client.get(foreign_booking.get_member_path()).status_code == 404
