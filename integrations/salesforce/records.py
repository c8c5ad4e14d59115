"""Salesforce record ids → what a person can read and click: the sObject (from the id's key
prefix), the record's name when we know it, and its Lightning page on the connected org."""

from dataclasses import dataclass

# Salesforce's standard key prefixes: the first three characters of every record id name its
# object, so a stored id says what it is without another column or an API call.
KEY_PREFIXES = {
    "001": "Account",
    "002": "Note",
    "003": "Contact",
    "005": "User",
    "006": "Opportunity",
    "00Q": "Lead",
    "00U": "Event",
    "069": "ContentDocument",
}
LABELS = {"ContentDocument": "Note", "Note": "Note"}


@dataclass(frozen=True)
class RecordLink:
    sf_id: str
    sobject: str
    name: str
    url: str

    @property
    def label(self) -> str:
        """'Contact', 'Opportunity', 'Note' (an Enhanced Note is a ContentDocument)."""
        return LABELS.get(self.sobject, self.sobject)

    @property
    def text(self) -> str:
        """The record's name, or its id when the name is not known."""
        return self.name or self.sf_id


def sobject_for_id(sf_id: str) -> str:
    """'Contact' for 003…; '' for an id whose prefix is not one Workestra writes or reads."""
    return KEY_PREFIXES.get((sf_id or "")[:3], "")


def lightning_url(instance_url: str, sf_id: str) -> str:
    """The record's page in Lightning Experience: `<instance>/lightning/r/<sObject>/<Id>/view`.
    My Domain instance URLs redirect there; '' when the object or the instance is unknown."""
    sobject = sobject_for_id(sf_id)
    if not (sobject and instance_url and sf_id):
        return ""
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{sf_id}/view"


def record_link(instance_url: str, sf_id: str, name: str = "") -> RecordLink | None:
    if not sf_id:
        return None
    return RecordLink(sf_id, sobject_for_id(sf_id) or "Record", name, lightning_url(instance_url, sf_id))
