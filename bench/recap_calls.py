#!/usr/bin/env python
"""API calls per recap pushed to the local Salesforce emulator, for each note type.

Prints, for Enhanced Notes (ContentNote + ContentDocumentLink) and for classic Notes: a first
push on a contact with an open opportunity, a re-push of a revised recap, a first push on a
lead, ten recaps drained together, a re-push after the note was deleted in Salesforce, and a
first push whose answer was lost (then reconciled). Counts are the emulator's call log
(calls counted toward the org's API allotment). Runs on SQLite in a temporary folder.

    .venv/bin/python bench/recap_calls.py
"""

import os

import sqlite_env

ROOT, WORK = sqlite_env.prepare(
    "workestra-bench-", SALESFORCE_RETRY_BASE_SECONDS="0.05", SALESFORCE_RETRY_MAX_SECONDS="0.2"
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from integrations.salesforce.models import SalesforceConnection  # noqa: E402
from integrations.salesforce.services import connection_update_settings  # noqa: E402
from notetaker import services as recaps  # noqa: E402
from notetaker.models import RecapNoteLink  # noqa: E402
from notetaker.webhook import ActionItemData, RecapPayload  # noqa: E402
from tests.fixtures.emulator import start_emulator, stop_emulator  # noqa: E402
from tests.fixtures.salesforce import make_team  # noqa: E402

CONTACT, LEAD = ("jane.roe@globex.com", "Jane Roe"), ("sam@leadco.example", "Sam Lead")
ITEMS = (ActionItemData("Send the renewal quote", "Alice"), ActionItemData("Book a follow-up"))


class Bench:
    def __init__(self, team):
        self.team, self.slot, self.deliveries = team, 0, 0

    def booking(self, invitee=CONTACT):
        booking = self.team.book("alice", email=invitee[0], name=invitee[1], slot=self.slot)
        self.slot += 1
        self.team.drain()  # its Event first: only the recap's calls are counted below
        return booking

    def recap(self, booking, summary="Jane wants the renewal quote before Friday."):
        self.deliveries += 1
        payload = RecapPayload(booking.uid, summary, ITEMS)
        recaps.recap_receive_delivery(
            payload=payload, key=f"bench-{self.deliveries}", body_hash=f"{self.deliveries:064d}"
        )

    def calls(self, action) -> int:
        control = self.team.emulator.control
        control.reset_calls()
        action()
        self.team.drain()
        return control.count()


def run(bench: Bench, note_type: str) -> list[tuple[str, str]]:
    team, control = bench.team, bench.team.emulator.control
    connection = team.refresh()
    connection_update_settings(
        connection=connection,
        object_scope=SalesforceConnection.ObjectScope.EVENTS_AND_NOTES,
        cancel_behaviour=connection.cancel_behaviour,
        no_match_behaviour=connection.no_match_behaviour,
        note_type=note_type,
    )
    rows = []
    first = bench.booking()
    rows.append(("first push, contact with an open opportunity", bench.calls(lambda: bench.recap(first))))
    rows.append(("re-push of a revised recap", bench.calls(lambda: bench.recap(first, "Revised."))))
    lead = bench.booking(LEAD)
    rows.append(("first push, lead", bench.calls(lambda: bench.recap(lead))))
    ten = [bench.booking() for _ in range(10)]
    total = bench.calls(lambda: [bench.recap(b) for b in ten])
    rows.append(("ten recaps drained together (per recap)", f"{total / 10:.1f} ({total} in all)"))
    sobject = "ContentDocument" if note_type == "enhanced" else "Note"
    for note_id in {link.note_id for link in RecapNoteLink.objects.filter(recap__booking=first)}:
        control.delete_record(sobject, note_id)
    rows.append(
        ("re-push after the note was deleted in Salesforce", bench.calls(lambda: bench.recap(first, "Once more.")))
    )
    lost = bench.booking()

    def lose_the_answer():
        control.set_faults(timeout_after_write={"count": 1, "mode": "drop"})
        bench.recap(lost)

    rows.append(("first push whose answer was lost, until pushed", bench.calls(lose_the_answer)))
    notes = len(control.records("ContentNote" if note_type == "enhanced" else "Note"))
    rows.append(("notes in Salesforce at the end (13 recaps)", notes))
    return rows


def main() -> None:
    call_command("migrate", verbosity=0)
    emulator = start_emulator(WORK / "sfdc")
    os.environ.update(emulator.env())
    for key, value in emulator.env().items():
        setattr(settings, key, value)
    settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = (
        "workestra-local-client",
        "workestra-local-secret",
    )
    try:
        bench = Bench(make_team(emulator))
        for note_type in ("enhanced", "classic"):
            print(f"{note_type} notes: API calls")
            for label, value in run(bench, note_type):
                print(f"  {label:<52} {value}")
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
