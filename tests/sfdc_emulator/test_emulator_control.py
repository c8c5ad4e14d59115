"""Control API, call log, records browser, loopback guard, CLI reset and persistence."""

import pytest
import requests

from sfdc_emulator import __main__ as cli
from sfdc_emulator import app as application
from sfdc_emulator import seed
from sfdc_emulator.seed import ID
from sfdc_emulator.store import Store
from sfdc_emulator.web import Request, is_loopback
from tests.fixtures.emulator import emulator_oauth_tokens, start_emulator, stop_emulator

pytestmark = pytest.mark.emulator

EVENT = {"Subject": "Call", "StartDateTime": "2026-11-30T15:00:00Z", "DurationInMinutes": 30}


def test_loopback_guard():
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.7") and not is_loopback("192.168.1.20")


@pytest.mark.parametrize("path", ["/_control/state", "/_records/"])
def test_control_and_browser_refuse_remote_peers(tmp_path, path):
    app = application.App(tmp_path)

    response = application.handle(app, Request("GET", path, client_ip="10.0.0.7"))

    assert response.status == 403


def test_call_log_since_count_and_reset(sfdc_emulator):
    token = emulator_oauth_tokens(sfdc_emulator)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    mark = sfdc_emulator.control.calls()[-1]["seq"]
    requests.get(
        f"{sfdc_emulator.base_url}/services/data/v58.0/query",
        params={"q": "SELECT Id FROM Lead"},
        headers=headers,
        timeout=10,
    )

    [call] = sfdc_emulator.control.calls(since=mark)
    oauth_calls = sfdc_emulator.control.count_calls("/services/oauth2")
    sfdc_emulator.control.reset_calls()

    assert call["method"] == "GET" and call["path"] == "/services/data/v58.0/query"
    assert call["query"] == "q=SELECT+Id+FROM+Lead"
    assert (call["status"], call["counted"], call["api_version"]) == (200, True, "58.0")
    assert oauth_calls["count"] >= 3 and oauth_calls["counted"] == 0
    assert sfdc_emulator.control.calls() == []  # control calls are never logged


def test_control_records_create_update_delete(sfdc_emulator):
    control = sfdc_emulator.control

    event_id = control.create_record("Event", {**EVENT, "WhoId": ID["contact:jane"]})
    control.update_record("Event", event_id, {"Subject": "Renamed"})
    control.delete_record("Event", event_id)

    assert control.records("Event") == []
    [deleted] = control.records("Event", include_deleted=True)
    assert deleted["Subject"] == "Renamed" and deleted["IsDeleted"] is True
    assert [c["Id"] for c in control.find("Contact", Email="DUP@vandelay.com")] == [
        ID["contact:dup1"],
        ID["contact:dup2"],
    ]
    assert control.count() == 0


def test_control_permissions_and_settings(sfdc_emulator):
    control = sfdc_emulator.control

    updated = control.set_permissions(seed.BOB, api_enabled=False, Note={"create": False})
    settings = control.set_settings(query_batch_size=5)

    assert updated["api_enabled"] is False
    assert updated["objects"]["Note"] == {"read": True, "create": False, "edit": True, "delete": True}
    assert settings["query_batch_size"] == 5
    control.reset()
    assert control.permissions(seed.BOB)["api_enabled"] is True


def test_records_browser_renders_and_escapes(sfdc_emulator):
    sfdc_emulator.control.create_record(
        "Event",
        {
            **EVENT,
            "Subject": "<script>alert('x')</script>",
            "WhoId": ID["lead:sam"],
            "Description": "line one\nline <two>\nthree\nfour",
        },
    )
    sfdc_emulator.control.create_record(
        "Note", {"ParentId": ID["contact:jane"], "Title": "T & <b>C</b>", "Body": "body"}
    )

    events = requests.get(f"{sfdc_emulator.base_url}/_records/?tab=Event", timeout=10).text
    notes = requests.get(f"{sfdc_emulator.base_url}/_records/?tab=Note", timeout=10).text
    contacts = requests.get(f"{sfdc_emulator.base_url}/_records/?tab=Contact", timeout=10).text

    assert "<script>alert" not in events and "&lt;script&gt;alert(&#x27;x&#x27;)" in events
    assert "Sam Lead (Lead)" in events and "line &lt;two&gt;" in events and "four" not in events
    assert "Ada Admin" in events and 'http-equiv="refresh"' in events
    assert "T &amp; &lt;b&gt;C&lt;/b&gt;" in notes and "Jane Roe (Contact)" in notes
    assert "jane.roe@globex.com" in contacts


@pytest.mark.parametrize(
    "sobject,tab",
    [("Event", "Event"), ("Contact", "Contact"), ("ContentDocument", "Note"), ("Opportunity", "Opportunity")],
)
def test_a_lightning_record_url_opens_the_records_browser(sfdc_emulator, sobject, tab):
    response = requests.get(
        f"{sfdc_emulator.base_url}/lightning/r/{sobject}/00U5g00000EvtAAAAA/view", timeout=10, allow_redirects=False
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/_records/?tab={tab}"
    assert requests.get(f"{sfdc_emulator.base_url}/lightning/r/Custom__c/a005g/view", timeout=10).status_code == 404


def test_cli_reset_reseeds_a_data_dir(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    cli.main(["reset", "--data-dir", str(tmp_path)])

    assert store.get_record(ID["contact:jane"])["Email"] == "jane.roe@globex.com"


def test_state_persists_across_a_restart(tmp_path):
    emulator = start_emulator(tmp_path)
    try:
        token = emulator_oauth_tokens(emulator)
        event_id = emulator.control.create_record("Event", EVENT)
    finally:
        stop_emulator(emulator)

    restarted = start_emulator(tmp_path, port=emulator.port)
    try:
        identity = requests.get(
            token["id"],
            verify=restarted.ca_bundle,
            timeout=10,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert restarted.control.record("Event", event_id)["Subject"] == "Call"
        assert identity.status_code == 200
        assert restarted.control.count_calls("/services/oauth2/token")["count"] == 1
    finally:
        stop_emulator(restarted)
