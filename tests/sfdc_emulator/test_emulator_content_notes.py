"""Enhanced Notes in the emulator: ContentNote, ContentDocument, ContentDocumentLink, over HTTPS."""

import base64

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sfdc_emulator.seed import ID, USER_IDS
from tests.fixtures.emulator import emulator_oauth_tokens, emulator_salesforce

pytestmark = pytest.mark.emulator

V = "/services/data/v59.0"
JANE, RENEWAL, ADMIN = ID["contact:jane"], ID["opportunity:globex_renewal"], USER_IDS["admin@acme.test"]


@pytest.fixture
def sf(sfdc_emulator):
    return emulator_salesforce(sfdc_emulator, emulator_oauth_tokens(sfdc_emulator))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def composite(sf, subrequests, all_or_none=False):
    return sf.restful("composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": subrequests})[
        "compositeResponse"
    ]


def create_note(sf, html="<p>Hello</p>", title="Recap"):
    return sf.restful("sobjects/ContentNote/", method="POST", json={"Title": title, "Content": b64(html)})["id"]


def test_a_note_and_its_links_in_one_composite_call(sfdc_emulator, sf):
    before = sfdc_emulator.control.count()

    responses = composite(
        sf,
        [
            {
                "method": "POST",
                "referenceId": "note",
                "url": f"{V}/sobjects/ContentNote/",
                "body": {"Title": "Recap", "Content": b64("<p>Hi</p>")},
            },
            {
                "method": "POST",
                "referenceId": "person",
                "url": f"{V}/sobjects/ContentDocumentLink/",
                "body": {"ContentDocumentId": "@{note.id}", "LinkedEntityId": JANE, "ShareType": "V"},
            },
            {
                "method": "POST",
                "referenceId": "deal",
                "url": f"{V}/sobjects/ContentDocumentLink/",
                "body": {"ContentDocumentId": "@{note.id}", "LinkedEntityId": RENEWAL, "ShareType": "V"},
            },
        ],
        all_or_none=True,
    )

    assert sfdc_emulator.control.count() == before + 1
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 201]
    note_id = responses[0]["body"]["id"]
    assert note_id.startswith("069")
    links = sf.query(
        f"SELECT Id, LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink WHERE ContentDocumentId = '{note_id}'"
    )["records"]
    by_entity = {r["LinkedEntityId"]: (r["ShareType"], r["Visibility"]) for r in links}
    # Salesforce links a new note to its creator too (ShareType I); Visibility defaults to AllUsers.
    assert by_entity == {ADMIN: ("I", "AllUsers"), JANE: ("V", "AllUsers"), RENEWAL: ("V", "AllUsers")}


def test_content_is_base64_html_stripped_of_new_lines_and_scripts_and_read_back_as_a_blob(sf):
    note_id = create_note(sf, '<p>Line one</p>\n<script>alert(1)</script><p onclick="x()">Zoë &amp; co</p>')

    record = sf.restful(f"sobjects/ContentNote/{note_id}")
    assert record["Content"] == f"{V}/sobjects/ContentNote/{note_id}/Content"
    assert (record["FileType"], record["FileExtension"], record["OwnerId"]) == ("SNOTE", "snote", ADMIN)
    assert record["TextPreview"] == "Line one Zoë & co"
    [queried] = sf.query(f"SELECT Id, Content, Title FROM ContentNote WHERE Id = '{note_id}'")["records"]
    assert queried["Content"] == record["Content"]
    blob = sf.session.get(sf.base_url + f"sobjects/ContentNote/{note_id}/Content", headers=sf.headers)
    assert blob.status_code == 200
    assert blob.content.decode() == "<p>Line one</p><p>Zoë &amp; co</p>"


def test_only_title_and_content_are_updatable_and_the_owner_is_not_settable(sf):
    note_id = create_note(sf)

    sf.restful(f"sobjects/ContentNote/{note_id}", method="PATCH", json={"Title": "New", "Content": b64("<p>New</p>")})
    assert sf.restful(f"sobjects/ContentNote/{note_id}")["Title"] == "New"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(f"sobjects/ContentNote/{note_id}", method="PATCH", json={"FileType": "TEXT"})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as owner:
        sf.restful("sobjects/ContentNote/", method="POST", json={"Title": "x", "OwnerId": USER_IDS["bob@acme.test"]})
    assert owner.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as not_base64:
        sf.restful("sobjects/ContentNote/", method="POST", json={"Title": "x", "Content": "<p>not base64</p>"})
    assert not_base64.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_a_link_needs_its_document_entity_and_a_valid_share_type(sf):
    note_id = create_note(sf)
    for body, code in [
        ({"LinkedEntityId": JANE, "ShareType": "V"}, "REQUIRED_FIELD_MISSING"),
        ({"ContentDocumentId": note_id, "ShareType": "V"}, "REQUIRED_FIELD_MISSING"),
        (
            {"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "X"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
    ]:
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.restful("sobjects/ContentDocumentLink/", method="POST", json=body)
        assert refused.value.content[0]["errorCode"] == code
    sf.restful(
        "sobjects/ContentDocumentLink/",
        method="POST",
        json={"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "V"},
    )
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.restful(
            "sobjects/ContentDocumentLink/",
            method="POST",
            json={"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "V"},
        )
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_links_can_only_be_queried_by_document_or_linked_entity(sf):
    note_id = create_note(sf)
    sf.restful(
        "sobjects/ContentDocumentLink/",
        method="POST",
        json={"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "V"},
    )

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert (
        "requires a filter by a single Id on ContentDocumentId or LinkedEntityId" in refused.value.content[0]["message"]
    )
    rows = sf.query(
        f"SELECT ContentDocumentId, ContentDocument.Title FROM ContentDocumentLink WHERE LinkedEntityId IN ('{JANE}')"
    )["records"]
    assert [(r["ContentDocumentId"], r["ContentDocument"]["Title"]) for r in rows] == [(note_id, "Recap")]


def test_deleting_the_document_deletes_the_note_and_its_links(sfdc_emulator, sf):
    note_id = create_note(sf)
    sf.restful(
        "sobjects/ContentDocumentLink/",
        method="POST",
        json={"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "V"},
    )

    sf.restful(f"sobjects/ContentDocument/{note_id}", method="DELETE")

    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.restful(f"sobjects/ContentNote/{note_id}", method="PATCH", json={"Title": "again"})
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{JANE}'")["records"] == []


def test_with_notes_turned_off_content_note_does_not_exist(sfdc_emulator, sf):
    sfdc_emulator.control.set_settings(enhanced_notes=0)

    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/ContentNote/describe/")
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM ContentNote")
    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert sf.restful("sobjects/Note/describe/")["createable"] is True


def test_the_control_api_can_act_as_a_person_writing_a_note(sfdc_emulator):
    note_id = sfdc_emulator.control.create_record("ContentNote", {"Title": "By hand", "Content": b64("<p>x</p>")})

    [note] = sfdc_emulator.control.records("ContentNote")
    assert note["Id"] == note_id and note["Title"] == "By hand"
    assert base64.b64decode(note["Content"]) == b"<p>x</p>"


def test_the_records_browser_shows_enhanced_notes_and_what_they_are_linked_to(sfdc_emulator, sf):
    import requests

    note_id = create_note(sf, "<p>Browse me</p>", title="Shown")
    sf.restful(
        "sobjects/ContentDocumentLink/",
        method="POST",
        json={"ContentDocumentId": note_id, "LinkedEntityId": JANE, "ShareType": "V"},
    )

    page = requests.get(
        f"{sfdc_emulator.base_url}/_records/?tab=ContentNote", verify=sfdc_emulator.ca_bundle, timeout=10
    ).text

    assert "Shown" in page and "Browse me" in page and "Jane Roe (Contact) [V]" in page
