"""What the anonymous routing form may spend of the customer's API allotment (issue 12 item 10),
over the emulator: answers that found nobody are cached too, lookups are throttled per form
(and per client through the form's POST limit), and routing has its own share of the org's daily
allotment. Past a limit the invitee goes to the fallback at once, without a call, and the
submission says why."""

import uuid
from urllib.parse import urlencode

import pytest

from routing.models import Submission
from tests.routing.routing_support import save_form, sf_route
from workestra import ratelimit

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]
FORM_URL = "/forms/acme/talk/"


@pytest.fixture
def routing(team):
    team.form = save_form(team.workspace, routes=[sf_route()], fallback=team.links["alice"])
    team.emulator.control.reset_calls()
    return team


def fallback_url(email):
    return f"/book/acme/alice/?{urlencode({'name': '', 'email': email})}"


def submit(client, email, ip="203.0.113.7", url=FORM_URL):
    return client.post(url, {"email": email, "company": "Any Co"}, REMOTE_ADDR=ip)


def bot_emails(count):
    return [f"bot{n}-{uuid.uuid4().hex[:6]}@spam-{n}.example" for n in range(count)]


def test_an_answer_that_found_nobody_is_cached_too(client, routing):
    before = routing.emulator.control.count()
    submit(client, "nobody@nowhere-inc.example")
    submit(client, "Nobody@nowhere-inc.example")

    assert routing.emulator.control.count() - before == 1
    first, repeat = Submission.objects.order_by("id")
    assert (first.api_calls, first.lookup_cached) == (1, False)
    assert (repeat.api_calls, repeat.lookup_cached, repeat.used_fallback) == (0, True, True)


def test_lookups_are_throttled_per_form(client, routing, settings):
    settings.SALESFORCE_ROUTING_LOOKUPS_PER_FORM = "3/3600"
    before = routing.emulator.control.count()

    answers = [submit(client, email, ip=f"198.51.100.{n}") for n, email in enumerate(bot_emails(5))]

    assert routing.emulator.control.count() - before == 3
    assert all(a.status_code == 302 for a in answers)
    skipped = list(Submission.objects.order_by("id"))[3:]
    assert [(s.api_calls, s.used_fallback) for s in skipped] == [(0, True), (0, True)]
    assert skipped[0].fallback_reason == (
        "this form made more than 3 Salesforce lookups in an hour, so it routes without one for now"
    )
    assert answers[-1]["Location"] == fallback_url(skipped[-1].email)
    # A repeat of an email already looked up still answers from the cache.
    assert submit(client, Submission.objects.earliest("id").email, ip="198.51.100.99").status_code == 302
    assert Submission.objects.latest("id").lookup_cached is True


def test_routing_stops_at_its_share_of_the_daily_allotment(client, routing, settings):
    # 1,000 calls a day and routing's share 0.5 % = 5 calls; the org is nowhere near the 90 %
    # where booking pushes defer.
    settings.SALESFORCE_ROUTING_API_SHARE = 0.005
    routing.emulator.control.set_faults(api_usage={"used": 100, "total": 1000})
    before = routing.emulator.control.count()

    for n, email in enumerate(bot_emails(8)):
        submit(client, email, ip=f"198.51.100.{n}")

    assert routing.emulator.control.count() - before == 5
    submissions = list(Submission.objects.order_by("id"))
    assert [s.api_calls for s in submissions] == [1] * 5 + [0] * 3
    assert submissions[-1].fallback_reason == (
        "routing lookups used their share of the org's daily Salesforce API allotment (5 of 5 calls, 0.5% of 1,000), "
        "so the lookup was skipped"
    )
    usage = routing.emulator.control.state()["usage"]
    assert usage["used"] / usage["total"] < settings.SALESFORCE_API_LIMIT_SHARE


def test_a_bot_on_one_address_spends_only_the_per_client_limit(client, routing, settings, monkeypatch):
    # The measurement: 30 submissions used to be 30 API calls. With the production
    # defaults (10 form posts per client per 10 minutes) it is 10, and the rest are 429.
    settings.RATELIMIT_ENABLED = True
    monkeypatch.setattr(ratelimit, "KEY_PREFIX", f"ratelimit-test-{uuid.uuid4().hex}")
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_000.0)
    before = routing.emulator.control.count()

    answers = [submit(client, email) for email in bot_emails(30)]

    assert routing.emulator.control.count() - before == 10
    assert [a.status_code for a in answers] == [302] * 10 + [429] * 20
    assert Submission.objects.count() == 10
