"""The demo org "Acme Corp", as plain data.

Every seeded record has a stable key (``"contact:jane"``) and a deterministic id
(``ID["contact:jane"]``), identical after every reset. Field values starting with
``@`` refer to another seeded record by key. Dates are fixed so that "most
recently modified" is well defined (Globex Renewal is the newest open opportunity).
"""

from . import ids

ORG_NAME = "Acme Corp"
PRODUCTION_ORG_ID = ids.make_id("Organization", 62**9 + 4_242)
SANDBOX_ORG_ID = ids.make_id("Organization", 62**9 + 8_484)

CLIENT_ID = "workestra-local-client"
CLIENT_SECRET = "workestra-local-secret"  # nosec B105  # the emulator's public test client secret
CALLBACK_PATH = "/settings/integrations/salesforce/callback/"
DEFAULT_SCOPES = ("api", "id", "refresh_token")

PASSWORD = "salesforce"  # nosec B105  # the emulator's public seed password
ADMIN = "admin@acme.test"
ALICE = "alice@acme.test"
BOB = "bob@acme.test"
CAROL = "carol.sales@acme.test"  # her Workestra email is carol@acme.test
FORMER = "former@acme.test"  # inactive
NONOTES = "nonotes@acme.test"  # no Create/Edit on Note or ContentNote
READONLY = "readonly@acme.test"  # no Edit/Delete on Event (can read and create)
NOAPI = "noapi@acme.test"  # API Enabled is off

OBJECT_NAMES = (
    "Event",
    "Note",
    "Lead",
    "Contact",
    "Account",
    "Opportunity",
    "User",
    "ContentNote",
    "ContentDocument",
    "ContentDocumentLink",
)
# Setup objects every user may read (and nobody writes through the API).
SETUP_OBJECTS = ("Organization", "PermissionSet", "PermissionSetAssignment")
ALL_RIGHTS = {"read": True, "create": True, "edit": True, "delete": True}
READ_ONLY = {"read": True, "create": False, "edit": False, "delete": False}


def _permissions(admin=False, api_enabled=True, **overrides):
    objects = {name: dict(ALL_RIGHTS) for name in OBJECT_NAMES}
    objects.update({name: dict(READ_ONLY) for name in SETUP_OBJECTS})
    if not admin:
        objects["User"] = dict(READ_ONLY)
    for name, rights in overrides.items():
        objects[name].update(rights)
    return {"api_enabled": api_enabled, "is_admin": admin, "objects": objects}


# (key, username, first, last, active, time zone, profile, permissions)
USERS = [
    (
        "user:admin",
        ADMIN,
        "Ada",
        "Admin",
        True,
        "America/Los_Angeles",
        "System Administrator",
        _permissions(admin=True),
    ),
    ("user:alice", ALICE, "Alice", "Anders", True, "Europe/London", "Standard User", _permissions()),
    ("user:bob", BOB, "Bob", "Baker", True, "America/New_York", "Standard User", _permissions()),
    ("user:carol", CAROL, "Carol", "Chen", True, "Europe/Berlin", "Standard User", _permissions()),
    ("user:former", FORMER, "Fran", "Former", False, "America/Chicago", "Standard User", _permissions()),
    (
        "user:nonotes",
        NONOTES,
        "Nora",
        "Nonotes",
        True,
        "Europe/Paris",
        "Standard User",
        _permissions(Note={"create": False, "edit": False}, ContentNote={"create": False, "edit": False}),
    ),
    (
        "user:readonly",
        READONLY,
        "Rita",
        "Readonly",
        True,
        "Europe/Madrid",
        "Standard User",
        _permissions(Event={"edit": False, "delete": False}),
    ),
    ("user:noapi", NOAPI, "Noah", "Noapi", True, "Asia/Tokyo", "Standard User", _permissions(api_enabled=False)),
]

# Users who are not licensed internal users but share a rep's email (UserType other than
# Standard): a partner-community login and a Chatter Free login. They can't own Events, so the
# product must never map a member to them.
# (key, username, email, first, last, user type, profile)
NON_STANDARD_USERS = [
    ("user:bob_partner", "bob@acme.test.partner", BOB, "Bob", "Baker", "PowerPartner", "Partner Community User"),
    ("user:alice_chatter", "alice@acme.test.chatter", ALICE, "Alice", "Anders", "CsnOnly", "Chatter Free User"),
]

# Profile-owned permission sets (every profile has one) and who has View All Data.
PROFILE_VIEW_ALL_DATA = {
    "System Administrator": True,
    "Standard User": False,
    "Partner Community User": False,
    "Chatter Free User": False,
}

ACCOUNTS = [
    ("account:globex", {"Name": "Globex", "Website": "https://www.globex.com", "OwnerId": "@user:bob"}),
    ("account:initech", {"Name": "Initech", "Website": "initech.com", "OwnerId": "@user:alice"}),
    ("account:umbrella", {"Name": "Umbrella", "Website": "umbrella.example", "OwnerId": "@user:former"}),
    ("account:vandelay", {"Name": "Vandelay", "Website": "vandelay.com", "OwnerId": "@user:carol"}),
    ("account:hooli", {"Name": "Hooli", "Website": "hooli.com", "OwnerId": "@user:alice"}),
]

CONTACTS = [
    (
        "contact:jane",
        {
            "FirstName": "Jane",
            "LastName": "Roe",
            "Email": "jane.roe@globex.com",
            "Title": "VP Operations",
            "AccountId": "@account:globex",
            "OwnerId": "@user:bob",
        },
    ),
    (
        "contact:peter",
        {
            "FirstName": "Peter",
            "LastName": "Gibbons",
            "Email": "peter@initech.com",
            "AccountId": "@account:initech",
            "OwnerId": "@user:alice",
        },
    ),
    (
        "contact:art",
        {
            "FirstName": "Art",
            "LastName": "Vandelay",
            "Email": "art@vandelay.com",
            "AccountId": "@account:vandelay",
            "OwnerId": "@user:carol",
        },
    ),
    (
        "contact:dup1",
        {
            "FirstName": "Dana",
            "LastName": "Duplicate",
            "Email": "dup@vandelay.com",
            "AccountId": "@account:vandelay",
            "OwnerId": "@user:carol",
        },
    ),
    (
        "contact:dup2",
        {
            "FirstName": "Dale",
            "LastName": "Duplicate",
            "Email": "dup@vandelay.com",
            "AccountId": "@account:vandelay",
            "OwnerId": "@user:bob",
        },
    ),
    (
        "contact:wesker",
        {
            "FirstName": "Alice",
            "LastName": "Wesker",
            "Email": "alice.wesker@umbrella.example",
            "AccountId": "@account:umbrella",
            "OwnerId": "@user:former",
        },
    ),
    (
        "contact:gavin",
        {
            "FirstName": "Gavin",
            "LastName": "Belson",
            "Email": "gavin@hooli.com",
            "AccountId": "@account:hooli",
            "OwnerId": "@user:alice",
        },
    ),
    (
        "contact:norm",
        {"FirstName": "Norm", "LastName": "Freelancer", "Email": "norm@freelance.example", "OwnerId": "@user:alice"},
    ),
]

OPPORTUNITIES = [
    (
        "opportunity:globex_renewal",
        {
            "Name": "Globex Renewal",
            "AccountId": "@account:globex",
            "StageName": "Negotiation/Review",
            "CloseDate": "2026-12-15",
            "Amount": 120000.0,
            "OwnerId": "@user:bob",
        },
    ),
    (
        "opportunity:globex_expansion",
        {
            "Name": "Globex Expansion",
            "AccountId": "@account:globex",
            "StageName": "Prospecting",
            "CloseDate": "2027-03-31",
            "Amount": 45000.0,
            "OwnerId": "@user:bob",
        },
    ),
    (
        "opportunity:globex_pilot",
        {
            "Name": "Globex Pilot",
            "AccountId": "@account:globex",
            "StageName": "Closed Won",
            "CloseDate": "2025-11-30",
            "Amount": 8000.0,
            "OwnerId": "@user:bob",
        },
    ),
    (
        "opportunity:initech_platform",
        {
            "Name": "Initech Platform",
            "AccountId": "@account:initech",
            "StageName": "Closed Won",
            "CloseDate": "2026-02-27",
            "Amount": 60000.0,
            "OwnerId": "@user:alice",
        },
    ),
    (
        "opportunity:vandelay_imports",
        {
            "Name": "Vandelay Imports",
            "AccountId": "@account:vandelay",
            "StageName": "Qualification",
            "CloseDate": "2026-10-30",
            "Amount": 30000.0,
            "OwnerId": "@user:carol",
        },
    ),
]

LEADS = [
    (
        "lead:sam",
        {
            "FirstName": "Sam",
            "LastName": "Lead",
            "Email": "sam@leadco.example",
            "Company": "LeadCo",
            "OwnerId": "@user:carol",
        },
    ),
    (
        "lead:mixed",
        {
            "FirstName": "Mixed",
            "LastName": "Case",
            "Email": "Mixed.Case@LeadCo.example",
            "Company": "LeadCo",
            "OwnerId": "@user:bob",
        },
    ),
    (
        "lead:old",
        {
            "FirstName": "Olive",
            "LastName": "Oldlead",
            "Email": "old.lead@initech.com",
            "Company": "Initech",
            "Status": "Closed - Converted",
            "IsConverted": True,
            "ConvertedContactId": "@contact:peter",
            "ConvertedAccountId": "@account:initech",
            "OwnerId": "@user:alice",
        },
    ),
    (
        "lead:una",
        {
            "FirstName": "Una",
            "LastName": "Matched",
            "Email": "una@nowhere.example",
            "Company": "Nowhere Ltd",
            "OwnerId": "@user:alice",
        },
    ),
]

# CreatedDate / LastModifiedDate per record; anything not listed uses SEED_CREATED.
SEED_CREATED = "2026-01-05T09:00:00.000+0000"
SEED_DATES = {
    "opportunity:globex_pilot": ("2025-09-01T10:00:00.000+0000", "2025-12-01T10:00:00.000+0000"),
    "opportunity:globex_expansion": ("2026-01-10T10:00:00.000+0000", "2026-02-01T10:00:00.000+0000"),
    "opportunity:globex_renewal": ("2026-01-12T10:00:00.000+0000", "2026-03-02T10:00:00.000+0000"),
    "opportunity:initech_platform": ("2025-10-01T10:00:00.000+0000", "2026-02-27T16:00:00.000+0000"),
}

RECORDS = (
    [("Account", key, fields) for key, fields in ACCOUNTS]
    + [("Contact", key, fields) for key, fields in CONTACTS]
    + [("Opportunity", key, fields) for key, fields in OPPORTUNITIES]
    + [("Lead", key, fields) for key, fields in LEADS]
)

_SEED_BASE = 62**9


def _seed_ids():
    keyed = {key: "User" for key, *_ in USERS}
    keyed.update({key: sobject for sobject, key, _ in RECORDS})
    # Added later: appended, so the ids of everything above stay what they were.
    keyed.update({key: "User" for key, *_ in NON_STANDARD_USERS})
    keyed.update({f"permset:{profile}": "PermissionSet" for profile in PROFILE_VIEW_ALL_DATA})
    return {key: ids.make_id(sobject, _SEED_BASE + n) for n, (key, sobject) in enumerate(keyed.items(), start=1)}


ID = _seed_ids()
USER_IDS = {username: ID[key] for key, username, *_ in USERS}
USER_IDS.update({username: ID[key] for key, username, *_ in NON_STANDARD_USERS})
