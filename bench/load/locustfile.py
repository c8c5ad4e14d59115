"""Invitees booking, rescheduling and cancelling, as a browser does it.

Each locust user stands for the invitees of one booking link (so concurrent users rarely want
the same slot) and starts one action every LOAD_PACING seconds, each user at its own random
phase so that actions arrive evenly rather than in locust's spawn batches: 70% book, 20%
reschedule one of the bookings it made, 10% cancel one. Every action loads the page first
(the csrftoken cookie and the form's csrfmiddlewaretoken come from it), posts the form without
following the redirect, then loads the page the redirect names, as a browser would.

Started by bench/load/run.py, which passes through the environment:
  LOAD_LINKS    comma-separated public link paths (/book/acme/alice/,...)
  LOAD_PACING   seconds between the starts of two actions of one user (default 2)
  LOAD_RAW_LOG  where to append one CSV line per request (exact timings for run.py)
"""

import csv
import html
import itertools
import os
import random
import re
import time

import gevent
from locust import HttpUser, events, task

LINKS = [path for path in os.environ.get("LOAD_LINKS", "/book/acme/alice/").split(",") if path]
PACING = float(os.environ.get("LOAD_PACING", "2"))
RAW_LOG = os.environ.get("LOAD_RAW_LOG", "")
# Half the invitees are known to the seeded org (Contact with an Opportunity, Contact, Lead);
# the other half match nothing, as most first-time invitees would.
KNOWN_INVITEES = ["jane.roe@globex.com", "peter@initech.com", "art@vandelay.com", "sam@leadco.example"]

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SLOT_INPUT = re.compile(r'<input type="radio" name="start" value="([^"]+)"')
ERROR_ALERT = re.compile(r'class="(?:alert alert-error|field-error)"[^>]*>\s*(.*?)\s*</', re.DOTALL)
BOOKING_PATH = re.compile(r"^/bookings/([A-Za-z0-9_-]+)/")
_user_numbers = itertools.count()

_raw_file = open(RAW_LOG, "a", newline="") if RAW_LOG else None  # noqa: SIM115 - closed at quit
_raw = csv.writer(_raw_file) if _raw_file else None


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **_):
    if _raw is None:
        return
    status = getattr(response, "status_code", 0) or 0
    _raw.writerow(
        [
            f"{time.time():.3f}",
            f"{request_type} {name}",
            status,
            f"{response_time:.2f}",
            "" if exception is None else _error_kind(status, exception),
        ]
    )


@events.quitting.add_listener
def _close_raw(**_):
    if _raw_file is not None:
        _raw_file.close()


class NoFreeSlot(Exception):
    """The page offered no slot: the run books more than the links' two weeks can hold."""


def _error_kind(status: int, exception) -> str:
    """One short label per kind of failure, so run.py can count them by type."""
    text = str(exception)
    if isinstance(exception, NoFreeSlot):
        return "no free slot"
    if status == 0:
        return f"no response: {type(exception).__name__}"
    if status == 400:
        return f"400 {text[:120]}"
    return f"HTTP {status}"


def steady_pacing(user) -> float:
    """One action every PACING seconds from the user's own start (a late action does not make
    the next one early). Unlike locust's constant_pacing, the phase counts from on_start's end."""
    user.next_start = max(user.next_start + PACING, time.monotonic())
    return user.next_start - time.monotonic()


class Invitee(HttpUser):
    wait_time = steady_pacing

    def on_start(self):
        # locust starts users in batches (one per second at -r 10): a random first phase spreads
        # the actions evenly over the pacing period instead of ten arriving at once.
        gevent.sleep(random.uniform(0, PACING))
        self.next_start = time.monotonic()
        self.number = next(_user_numbers)
        self.link = LINKS[self.number % len(LINKS)]
        self.live_uids: list[str] = []
        self.sequence = itertools.count()

    @task(70)
    def book(self):
        page = self._load(self.link, "/book/[link]/")
        if page is None:
            return
        token, slots = page
        if not slots:
            self._fail("/book/[link]/", "no free slot left on the link")
            return
        form = {
            "csrfmiddlewaretoken": token,
            "name": "Load Invitee",
            "email": self._invitee_email(),
            "start": random.choice(slots),
        }
        uid = self._submit(self.link, form, "/book/[link]/")
        if uid:
            self.live_uids.append(uid)

    @task(20)
    def reschedule(self):
        if not self.live_uids:
            return self.book()
        uid = random.choice(self.live_uids)
        page = self._load(f"/bookings/{uid}/", "/bookings/[uid]/")
        if page is None:
            return
        token, slots = page
        if not slots:
            self._fail("/bookings/[uid]/reschedule/", "no free slot left on the link")
            return
        self._submit(
            f"/bookings/{uid}/reschedule/",
            {"csrfmiddlewaretoken": token, "start": random.choice(slots)},
            "/bookings/[uid]/reschedule/",
        )

    @task(10)
    def cancel(self):
        if not self.live_uids:
            return self.book()
        uid = self.live_uids.pop(random.randrange(len(self.live_uids)))
        page = self._load(f"/bookings/{uid}/", "/bookings/[uid]/")
        if page is None:
            return
        token, _ = page
        self._submit(
            f"/bookings/{uid}/cancel/",
            {"csrfmiddlewaretoken": token, "reason": "Load test: plans changed."},
            "/bookings/[uid]/cancel/",
        )

    # ---- one page load, one form post --------------------------------------------------------
    def _load(self, path: str, name: str):
        """GET a page with a form; returns (csrf token, free slots) or None on failure."""
        with self.client.get(path, name=name, catch_response=True) as response:
            token = CSRF_INPUT.search(response.text or "")
            if response.status_code != 200 or token is None:
                response.failure(f"HTTP {response.status_code} or no CSRF token in the page")
                return None
            return token.group(1), SLOT_INPUT.findall(response.text)

    def _submit(self, path: str, form: dict, name: str) -> str | None:
        """POST a form; a 302 to /bookings/<uid>/ is success (then the page it names is loaded).
        Returns the booking uid, or None on failure."""
        with self.client.post(path, data=form, name=name, allow_redirects=False, catch_response=True) as response:
            location = response.headers.get("Location", "")
            found = BOOKING_PATH.match(location)
            if response.status_code != 302 or found is None:
                message = ERROR_ALERT.search(response.text or "")
                response.failure(html.unescape(message.group(1)) if message else f"HTTP {response.status_code}")
                return None
        self.client.get(location, name="/bookings/[uid]/ (after redirect)")
        return found.group(1)

    def _fail(self, name: str, message: str) -> None:
        events.request.fire(
            request_type="POST",
            name=name,
            response_time=0,
            response_length=0,
            response=None,
            exception=NoFreeSlot(message),
            context={},
        )

    def _invitee_email(self) -> str:
        if random.random() < 0.5:
            return random.choice(KNOWN_INVITEES)
        return f"invitee.u{self.number}.{next(self.sequence)}@example.org"
