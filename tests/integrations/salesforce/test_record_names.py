"""The matched records' names reach BookingSync with the push (over the emulator's socket), so
pages name them without another API call."""

import pytest

from integrations.salesforce.models import BookingSync
from sfdc_emulator.seed import ID

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


@pytest.mark.parametrize(
    "email,who,what",
    [
        ("jane.roe@globex.com", ("contact:jane", "Jane Roe"), ("opportunity:globex_renewal", "Globex Renewal")),
        ("peter@initech.com", ("contact:peter", "Peter Gibbons"), ("account:initech", "Initech")),
        ("norm@freelance.example", ("contact:norm", "Norm Freelancer"), None),
        ("sam@leadco.example", ("lead:sam", "Sam Lead"), None),
        ("nobody@nowhere.example", None, None),
    ],
)
def test_the_push_records_the_names_of_who_and_what(team, email, who, what):
    booking = team.book("bob", email=email)

    team.drain()

    sync = BookingSync.objects.get(booking=booking)
    assert (sync.sf_who_id, sync.sf_who_name) == ((ID[who[0]], who[1]) if who else ("", ""))
    assert (sync.sf_what_id, sync.sf_what_name) == ((ID[what[0]], what[1]) if what else ("", ""))
