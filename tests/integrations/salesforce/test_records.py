"""Record ids → object names and Lightning links."""

import pytest

from integrations.salesforce import records


@pytest.mark.parametrize(
    "sf_id,sobject",
    [
        ("0035g00000JaneAAA", "Contact"),
        ("00Q5g00000LeadAAA", "Lead"),
        ("0065g00000OppyAAA", "Opportunity"),
        ("0015g00000AcctAAA", "Account"),
        ("00U5g00000EvtAAAA", "Event"),
        ("0025g00000NoteAAA", "Note"),
        ("0695g00000DocAAAA", "ContentDocument"),
        ("0055g00000UserAAA", "User"),
        ("a0B5g00000CustAAA", ""),
        ("", ""),
    ],
)
def test_the_key_prefix_names_the_object(sf_id, sobject):
    assert records.sobject_for_id(sf_id) == sobject


def test_lightning_url_is_the_instance_plus_the_record_path():
    assert records.lightning_url("https://acme.my.salesforce.com/", "00U5g00000EvtAAAA") == (
        "https://acme.my.salesforce.com/lightning/r/Event/00U5g00000EvtAAAA/view"
    )
    assert records.lightning_url("", "00U5g00000EvtAAAA") == ""
    assert records.lightning_url("https://acme.my.salesforce.com", "a0B5g00000CustAAA") == ""


def test_record_link_labels_enhanced_notes_as_notes_and_falls_back_to_the_id():
    link = records.record_link("https://x.my.salesforce.com", "0695g00000DocAAAA")
    assert (link.label, link.text, link.sobject) == ("Note", "0695g00000DocAAAA", "ContentDocument")
    assert records.record_link("https://x.my.salesforce.com", "") is None
