import pytest

from workestra.models import User, WorkerHeartbeat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["user", "workspace", "membership", "workerheartbeat"])
def test_changelists_load(admin_client, member_user, model):
    assert admin_client.get(f"/admin/workestra/{model}/").status_code == 200


def test_user_search_and_change_page(admin_client, member_user):
    html = admin_client.get("/admin/workestra/user/", {"q": "member@acme"}).content.decode()

    assert "member@acme.test" in html
    assert admin_client.get(f"/admin/workestra/user/{member_user.pk}/change/").status_code == 200


def test_staff_can_add_a_user_by_email(admin_client):
    response = admin_client.post(
        "/admin/workestra/user/add/",
        {
            "email": "New.Person@Example.com",
            "usable_password": "true",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a-long-pass-phrase-9")


def test_heartbeats_are_read_only(admin_client):
    WorkerHeartbeat.objects.create(worker="w1", seen_at="2025-01-01T00:00:00Z")

    assert admin_client.get("/admin/workestra/workerheartbeat/add/").status_code == 403
