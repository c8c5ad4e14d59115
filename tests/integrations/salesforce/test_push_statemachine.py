"""Random create / reschedule / cancel sequences with random faults. Whatever happens, once
the outbox drains Salesforce holds exactly one Event per live pushed booking, at the booking's
current time, and none for a cancelled one."""
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from bookings.models import Booking
from bookings.services import BookingError, booking_cancel, booking_reschedule
from integrations.salesforce.drain import drain
from integrations.salesforce.models import BookingSync
from integrations.salesforce.payloads import sf_datetime

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]

EMAILS = ["jane.roe@globex.com", "peter@initech.com", "sam@leadco.example", "nobody@nowhere.example"]
FAULTS = {
    "two 503s": {"fail": {"status": 503, "count": 2, "prefix": "/services/data"}},
    "one 503": {"fail": {"status": 503, "count": 1, "prefix": "/services/data"}},
    "answer lost after write": {"timeout_after_write": {"count": 1, "mode": "drop"}},
    "slow": {"latency_ms": 150},
}


def check_salesforce_matches_bookings(team) -> None:
    events = team.events()
    pushed = Booking.objects.filter(salesforce_sync__isnull=False, workspace=team.workspace)
    live = [b for b in pushed if b.is_live]
    assert len(events) == len(live), (len(events), len(live))
    for booking in live:
        mine = [e for e in events if booking.get_public_url() in e["Description"]]
        assert len(mine) == 1, (booking.uid, mine)
        assert mine[0]["StartDateTime"] == sf_datetime(booking.start_at)
        assert BookingSync.objects.get(booking=booking).sf_event_id == mine[0]["Id"]


def test_salesforce_converges_to_the_bookings(team):
    class Bookings(RuleBasedStateMachine):
        @initialize()
        def start_clean(self):
            team.emulator.control.clear_faults()
            self.slot = 0

        @rule(host=st.sampled_from(["alice", "bob"]), email=st.sampled_from(EMAILS))
        def create(self, host, email):
            self.slot += 1
            team.book(host, email=email, name="Random Invitee", slot=self.slot)

        @rule(data=st.data())
        def reschedule(self, data):
            live = list(Booking.objects.exclude(status=Booking.Status.CANCELLED).order_by("pk"))
            if live:
                booking = data.draw(st.sampled_from(live))
                self.slot += 1
                key = next(k for k, link in team.links.items() if link.pk == booking.link_id)
                try:
                    booking_reschedule(booking=booking, start=team.free_slot(key, self.slot))
                except BookingError:
                    pass  # the drawn slot may be taken by this host's other link; not what we test

        @rule(data=st.data())
        def cancel(self, data):
            live = list(Booking.objects.exclude(status=Booking.Status.CANCELLED).order_by("pk"))
            if live:
                booking_cancel(booking=data.draw(st.sampled_from(live)), reason="changed plans")

        @rule(fault=st.sampled_from(sorted(FAULTS)))
        def inject_fault(self, fault):
            team.emulator.control.set_faults(**FAULTS[fault])

        @rule()
        def expire_sessions(self):
            team.emulator.control.expire_tokens()

        @rule()
        def partial_drain(self):
            drain(team.connection.pk)

        @invariant()
        def never_two_events_for_one_booking(self):
            descriptions = [e["Description"].split("\n")[0] for e in team.events()]
            assert len(descriptions) == len(set(descriptions))

        def teardown(self):
            team.emulator.control.clear_faults()
            team.drain(timeout=60)
            check_salesforce_matches_bookings(team)

    run_state_machine_as_test(
        Bookings,
        settings=settings(
            max_examples=12,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
