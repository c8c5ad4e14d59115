"""The curated zone list invitees pick from, and what a ?tz= outside it does."""

import re
from datetime import UTC, datetime

import pytest

from bookings.timezones import canonical_timezone_names, canonical_zone, zone_choices

BOOK_URL = "/book/acme/intro/"
NOT_LISTED = [
    "localtime",
    "Factory",
    "UCT",
    "Etc/UTC",
    "Etc/GMT+5",
    "US/Eastern",
    "GB",
    "Asia/Calcutta",
    "Europe/Kiev",
    "posixrules",
    "EST5EDT",
]


def test_the_list_holds_the_zones_people_live_in_and_utc():
    names = canonical_timezone_names()

    assert {
        "UTC",
        "Europe/London",
        "Asia/Kolkata",
        "Europe/Kyiv",
        "Europe/Amsterdam",
        "America/Argentina/Buenos_Aires",
        "Pacific/Auckland",
    } <= set(names)
    assert not set(NOT_LISTED) & set(names)
    assert list(names) == sorted(names) and 300 < len(names) < 500


@pytest.mark.parametrize(
    "name, listed",
    [
        ("Europe/Paris", "Europe/Paris"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        ("UCT", "UTC"),
        ("Etc/UTC", "UTC"),
        ("localtime", None),
        ("Factory", None),
        ("Etc/GMT+5", None),
        ("Mars/Olympus", None),
        ("", None),
        ("x" * 500, None),
    ],
)
def test_a_requested_name_means_a_listed_zone_or_nothing(name, listed):
    zone = canonical_zone(name)
    assert (zone.key if zone else None) == listed


def test_choices_are_grouped_by_area_with_the_current_offset():
    groups = dict(zone_choices(datetime(2026, 7, 1, 12, tzinfo=UTC)))

    assert ("Europe/London", "London (UTC+01:00)") in groups["Europe"]
    assert ("America/Argentina/Buenos_Aires", "Argentina/Buenos Aires (UTC-03:00)") in groups["America"]
    assert groups[""] == [("UTC", "UTC (UTC+00:00)")]


@pytest.mark.django_db
def test_the_picker_offers_only_listed_zones_and_submits_without_a_button(client, link):
    html = client.get(BOOK_URL).content.decode()

    offered = re.findall(r'<option value="([^"]+)"', html)
    assert set(offered) == set(canonical_timezone_names())
    assert '<optgroup label="Europe">' in html
    assert '<noscript><div><button type="submit" class="secondary">Change time zone</button></div></noscript>' in html
    assert "js/timezone.js" in html and "<script>" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("requested", ["localtime", "Factory", "Etc/GMT+5"])
def test_an_unlisted_zone_is_ignored_with_a_message(client, link, requested):
    html = client.get(BOOK_URL, {"tz": requested}).content.decode()

    assert f"“{requested}” is not a time zone we know, so times are shown in UTC." in html
    assert "(times in UTC)" in html


@pytest.mark.django_db
def test_an_old_name_for_a_listed_zone_shows_that_zone(client, link):
    html = client.get(BOOK_URL, {"tz": "Asia/Calcutta"}).content.decode()

    assert "(times in Asia/Kolkata)" in html and "is not a time zone we know" not in html
    assert '<option value="Asia/Kolkata" selected>' in html


@pytest.mark.django_db
def test_a_host_whose_own_zone_is_an_old_name_still_sees_it_selected(client, link):
    link.owner.timezone = "US/Pacific"
    link.owner.save()

    html = client.get(BOOK_URL).content.decode()

    assert '<option value="US/Pacific" selected>US/Pacific</option>' in html
    assert "(times in US/Pacific)" in html
