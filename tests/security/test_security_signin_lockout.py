"""Sign-in brute force (issue 15): django-axes locks an account, or a client, out after
SIGNIN_FAILURE_LIMIT wrong passwords for SIGNIN_LOCKOUT_MINUTES, with one message that does not
say whether the account exists; staff unlock from Django admin."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
WRONG_PASSWORD = "Please enter a correct email address and password"
LOCKED = "There were too many failed sign-in attempts for this account or from your network"


def sign_in(client, email, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail_until_locked(client, email, *, ip="203.0.113.7"):
    """Wrong passwords up to the limit; returns the answers."""
    return [sign_in(client, email, "wrong", ip=ip) for _ in range(5)]


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(client, member_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    answers = fail_until_locked(client, "member@acme.test")

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert all(WRONG_PASSWORD in a.content.decode() for a in answers[:4])
    locked = sign_in(client, "member@acme.test", PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode() and "paused for 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # From another client too: it is the account that is locked.
    assert sign_in(client, "member@acme.test", PASSWORD, ip="198.51.100.9").status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, member_user):
    fail_until_locked(client, "member@acme.test")
    assert sign_in(client, "member@acme.test", PASSWORD).status_code == 429

    # Time travel: the failures were 16 minutes ago (the cool-off is 15).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    answer = sign_in(client, "member@acme.test", PASSWORD)
    assert (answer.status_code, answer["Location"]) == (302, "/calendar/")


def test_an_unknown_account_gets_the_same_answers_as_a_real_one(client, member_user):
    real = fail_until_locked(client, "member@acme.test", ip="203.0.113.7")
    unknown = fail_until_locked(client, "nobody@acme.test", ip="203.0.113.8")

    assert [a.status_code for a in real] == [a.status_code for a in unknown]
    assert real[-1].content == unknown[-1].content  # the lockout page word for word
    assert all(WRONG_PASSWORD in a.content.decode() for a in unknown[:4])


def test_one_client_trying_many_accounts_is_locked_out(client, member_user):
    for n in range(5):
        sign_in(client, f"guess{n}@acme.test", "wrong", ip="203.0.113.50")

    assert sign_in(client, "member@acme.test", PASSWORD, ip="203.0.113.50").status_code == 429
    # Another client may still sign in to the account nobody attacked.
    assert sign_in(client, "member@acme.test", PASSWORD, ip="203.0.113.51").status_code == 302


def test_the_email_is_counted_case_insensitively(client, member_user):
    for email in ("member@acme.test", "MEMBER@acme.test", " Member@Acme.test", "member@ACME.TEST", "mEmber@acme.test"):
        sign_in(client, email, "wrong", ip=f"203.0.113.{len(email)}")

    assert sign_in(client, "member@acme.test", PASSWORD, ip="198.51.100.1").status_code == 429


def test_staff_unlock_from_django_admin(client, member_user, staff_user):
    fail_until_locked(client, "member@acme.test")
    attempt = AccessAttempt.objects.get(username="member@acme.test")
    assert attempt.failures_since_start == 5

    client.force_login(staff_user)
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "member@acme.test" in listing.content.decode()
    client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    client.logout()

    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "member@acme.test", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, member_user):
    for _ in range(4):
        sign_in(client, "member@acme.test", "wrong")
    assert sign_in(client, "member@acme.test", PASSWORD).status_code == 302
    client.logout()

    answers = [sign_in(client, "member@acme.test", "wrong") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
