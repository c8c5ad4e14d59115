"""The sObjects the emulator knows: their fields and object-level flags.

Field types, lengths and flags follow the Salesforce Object Reference
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/);
only the fields the product touches, plus system fields, are modelled.
"""

from dataclasses import dataclass, field

from . import ids

LONG_TEXT_LIMIT = 255  # longer textareas cannot be filtered or sorted in SOQL


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    reference_to: tuple = ()
    relationship_name: str = None
    polymorphic: bool = False
    label: str = ""

    @property
    def filterable(self):
        if self.type == "base64":  # ContentNote.Content: never filterable or sortable
            return False
        return not (self.type == "textarea" and self.length > LONG_TEXT_LIMIT)

    @property
    def is_reference(self):
        return self.type in ("id", "reference")


@dataclass
class SObject:
    name: str
    label: str
    label_plural: str
    fields: dict = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True

    @property
    def key_prefix(self):
        return ids.KEY_PREFIXES[self.name]

    def field(self, name):
        """Case-insensitive field lookup (SOQL and REST are case-insensitive for names)."""
        return self._by_lower().get(name.lower())

    def relationship(self, name):
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.relationship_name and candidate.relationship_name.lower() == lowered:
                return candidate
        return None

    def _by_lower(self):
        if not hasattr(self, "_lower_index"):
            self._lower_index = {name.lower(): f for name, f in self.fields.items()}
        return self._lower_index


def _f(name, type_, length=0, **kw):
    return Field(name, type_, length, label=kw.pop("label", _label(name)), **kw)


def _ref(name, to, rel, **kw):
    return _f(name, "reference", 18, reference_to=tuple(to), relationship_name=rel, **kw)


def _derived(name, type_, length=0, **kw):
    return _f(name, type_, length, createable=False, updateable=False, **kw)


def _label(name):
    words, current = [], ""
    for char in name.removesuffix("Id") if name.endswith("Id") and name != "Id" else name:
        if char.isupper() and current and not current[-1].isupper():
            words.append(current)
            current = char
        else:
            current += char
    words.append(current)
    return " ".join(words)


def _system_fields():
    return [
        _f("Id", "id", 18, createable=False, updateable=False, nillable=False, label="Record ID"),
        _derived("IsDeleted", "boolean", nillable=False),
        _derived("CreatedDate", "datetime", nillable=False),
        _ref(
            "CreatedById",
            ["User"],
            "CreatedBy",
            createable=False,
            updateable=False,
            nillable=False,
            label="Created By ID",
        ),
        _derived("LastModifiedDate", "datetime", nillable=False),
        _ref(
            "LastModifiedById",
            ["User"],
            "LastModifiedBy",
            createable=False,
            updateable=False,
            nillable=False,
            label="Last Modified By ID",
        ),
        _derived("SystemModstamp", "datetime", nillable=False),
    ]


def _owner(polymorphic=False, label="Owner ID"):
    return _ref("OwnerId", ["User"], "Owner", nillable=False, polymorphic=polymorphic, label=label)


def _object(name, label, plural, fields, *, system=None, **flags):
    sobject = SObject(name, label, plural, **flags)
    system_fields = _system_fields()
    if system is not None:  # objects that lack some system fields (ContentDocumentLink)
        system_fields = [f for f in system_fields if f.name in system]
    for f in system_fields + fields:
        sobject.fields[f.name] = f
    return sobject


def _file_fields():
    """What ContentNote and ContentDocument share (both are the same stored record)."""
    return [
        _derived("FileType", "string", 20),
        _derived("FileExtension", "string", 20),
        _derived("ContentSize", "int"),
        _derived("ContentModifiedDate", "datetime"),
        _ref(
            "LatestPublishedVersionId",
            ["ContentVersion"],
            "LatestPublishedVersion",
            createable=False,
            updateable=False,
            label="Content Version ID",
        ),
    ]


OBJECTS = {
    "Event": _object(
        "Event",
        "Event",
        "Events",
        [
            _f("Subject", "combobox", 255),
            _f("Description", "textarea", 32000),
            _f("StartDateTime", "datetime"),
            _f("EndDateTime", "datetime"),
            _f("DurationInMinutes", "int"),
            _f("ActivityDateTime", "datetime"),
            _f("ActivityDate", "date"),  # settable: it is the day of an all-day Event
            _f("IsAllDayEvent", "boolean", nillable=False),
            _f("Location", "string", 255),
            _f("IsPrivate", "boolean", nillable=False),
            _owner(polymorphic=True, label="Assigned To ID"),
            _ref("WhoId", ["Contact", "Lead"], "Who", polymorphic=True, label="Name ID"),
            _ref("WhatId", ["Account", "Opportunity"], "What", polymorphic=True, label="Related To ID"),
            _ref("AccountId", ["Account"], "Account", createable=False, updateable=False, label="Account ID"),
        ],
    ),
    "Note": _object(
        "Note",
        "Note",
        "Notes",
        [
            _ref(
                "ParentId",
                ["Account", "Contact", "Lead", "Opportunity"],
                "Parent",
                updateable=False,
                nillable=False,
                polymorphic=True,
                label="Parent ID",
            ),
            _f("Title", "string", 80, nillable=False),
            _f("Body", "textarea", 32000),
            _f("IsPrivate", "boolean", nillable=False),
            _owner(),
        ],
    ),
    # Enhanced Notes (Object Reference: ContentNote, ContentDocument, ContentDocumentLink).
    # A ContentNote is stored as its ContentDocument (same 069 id); content.py holds their rules.
    "ContentNote": _object(
        "ContentNote",
        "Note",
        "Notes",
        [
            _f("Title", "string", 255, nillable=False),
            _f("Content", "base64"),
            _derived("TextPreview", "string", 255),
            _derived("IsReadOnly", "boolean", nillable=False),
            _derived("SharingPrivacy", "picklist", 40),
            # Settable only with "Set Audit Fields upon Record Creation"; the creator owns the note.
            _ref("OwnerId", ["User"], "Owner", createable=False, updateable=False, nillable=False, label="Owner ID"),
            *_file_fields(),
        ],
    ),
    "ContentDocument": _object(
        "ContentDocument",
        "Content Document",
        "Content Documents",
        [
            _f("Title", "string", 255, createable=False, nillable=False),
            _ref("OwnerId", ["User"], "Owner", createable=False, nillable=False, label="Owner ID"),
            *_file_fields(),
        ],
        createable=False,
    ),
    "ContentDocumentLink": _object(
        "ContentDocumentLink",
        "Content Document Link",
        "Content Document Links",
        [
            _ref(
                "ContentDocumentId",
                ["ContentDocument"],
                "ContentDocument",
                updateable=False,
                nillable=False,
                label="Content Document ID",
            ),
            _ref(
                "LinkedEntityId",
                ["Account", "Contact", "Lead", "Opportunity", "User"],
                "LinkedEntity",
                updateable=False,
                nillable=False,
                polymorphic=True,
                label="Linked Entity ID",
            ),
            _f("ShareType", "picklist", 40, nillable=False),
            _f("Visibility", "picklist", 40),
        ],
        system=("Id", "IsDeleted", "SystemModstamp"),
    ),
    "Lead": _object(
        "Lead",
        "Lead",
        "Leads",
        [
            _f("FirstName", "string", 40),
            _f("LastName", "string", 80, nillable=False),
            _derived("Name", "string", 121, nillable=False),
            _f("Email", "email", 80),
            _f("Company", "string", 255, nillable=False),
            _f("Status", "picklist", 255, nillable=False),
            _derived("IsConverted", "boolean", nillable=False),
            _ref(
                "ConvertedContactId",
                ["Contact"],
                "ConvertedContact",
                createable=False,
                updateable=False,
                label="Converted Contact ID",
            ),
            _ref(
                "ConvertedAccountId",
                ["Account"],
                "ConvertedAccount",
                createable=False,
                updateable=False,
                label="Converted Account ID",
            ),
            _owner(polymorphic=True),
        ],
    ),
    "Contact": _object(
        "Contact",
        "Contact",
        "Contacts",
        [
            _f("FirstName", "string", 40),
            _f("LastName", "string", 80, nillable=False),
            _derived("Name", "string", 121, nillable=False),
            _f("Email", "email", 80),
            _ref("AccountId", ["Account"], "Account", label="Account ID"),
            _f("Phone", "phone", 40),
            _f("Title", "string", 128),
            _owner(),
        ],
    ),
    "Account": _object(
        "Account",
        "Account",
        "Accounts",
        [
            _f("Name", "string", 255, nillable=False),
            _f("Website", "url", 255),
            _f("Phone", "phone", 40),
            _owner(),
        ],
    ),
    "Opportunity": _object(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        [
            _f("Name", "string", 120, nillable=False),
            _ref("AccountId", ["Account"], "Account", label="Account ID"),
            _f("StageName", "picklist", 255, nillable=False),
            _f("CloseDate", "date", nillable=False),
            _f("Amount", "currency"),
            _derived("IsClosed", "boolean", nillable=False),
            _derived("IsWon", "boolean", nillable=False),
            _owner(),
        ],
    ),
    # Users are managed in Setup, not through these endpoints in the emulator.
    "User": _object(
        "User",
        "User",
        "Users",
        [
            _f("Username", "string", 80, nillable=False),
            _f("Email", "email", 128, nillable=False),
            _f("FirstName", "string", 40),
            _f("LastName", "string", 80, nillable=False),
            _derived("Name", "string", 121, nillable=False),
            _f("Alias", "string", 8, nillable=False),
            _f("Title", "string", 80),
            _f("IsActive", "boolean", nillable=False),
            _f("TimeZoneSidKey", "picklist", 40, nillable=False),
            # Standard for licensed internal users; PowerPartner, CspLitePortal, CustomerSuccess,
            # PowerCustomerSuccess, CsnOnly (Chatter) for the others (User object reference).
            _derived("UserType", "picklist", 40),
        ],
        createable=False,
        updateable=False,
        deletable=False,
    ),
    # One row: the org itself (Organization object reference). Read-only to the API.
    "Organization": _object(
        "Organization",
        "Organization",
        "Organizations",
        [
            _derived("Name", "string", 80, nillable=False),
            _derived("IsSandbox", "boolean", nillable=False),
            _derived("InstanceName", "string", 5),
            _derived("OrganizationType", "picklist", 40),
        ],
        createable=False,
        updateable=False,
        deletable=False,
    ),
    # Every profile is stored as a permission set (IsOwnedByProfile) assigned to its users,
    # so the assignments cover both (PermissionSet / PermissionSetAssignment references).
    "PermissionSet": _object(
        "PermissionSet",
        "Permission Set",
        "Permission Sets",
        [
            _f("Name", "string", 80, nillable=False),
            _f("Label", "string", 80, nillable=False),
            _derived("IsOwnedByProfile", "boolean", nillable=False),
            _f("PermissionsViewAllData", "boolean", nillable=False),
            _f("PermissionsModifyAllData", "boolean", nillable=False),
            _f("PermissionsApiEnabled", "boolean", nillable=False),
        ],
        createable=False,
        updateable=False,
        deletable=False,
    ),
    "PermissionSetAssignment": _object(
        "PermissionSetAssignment",
        "Permission Set Assignment",
        "Permission Set Assignments",
        [
            _ref("AssigneeId", ["User"], "Assignee", nillable=False, label="Assignee ID"),
            _ref("PermissionSetId", ["PermissionSet"], "PermissionSet", nillable=False, label="Permission Set ID"),
        ],
        createable=False,
        updateable=False,
        deletable=False,
    ),
}

# Opportunity.StageName values and the IsClosed/IsWon they imply (standard sales process).
OPPORTUNITY_STAGES = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}
DEFAULT_LEAD_STATUS = "Open - Not Contacted"

# Fields of the polymorphic "Name" object Salesforce exposes through Who/What/Owner/Parent.
NAME_OBJECT_FIELDS = (
    "Id",
    "Name",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Title",
    "Alias",
    "Username",
    "IsActive",
    "Type",
)


# Where an object's records are stored when it is a view of another object's records.
STORED_AS = {"ContentNote": "ContentDocument"}


def storage(name):
    return STORED_AS.get(name, name)


def lookup(name):
    """Case-insensitive sObject lookup; returns the SObject or None."""
    for sobject_name, sobject in OBJECTS.items():
        if sobject_name.lower() == (name or "").lower():
            return sobject
    return None
