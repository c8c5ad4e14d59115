"""Users as the emulator's security layer: password, API Enabled, object permissions."""

from . import schema
from .errors import SalesforceError


def actor(store, user_id):
    """The security dict of a user (``user_id``, ``api_enabled``, ``objects``...) or None.
    With Notes turned off for the org, nobody sees ContentNote."""
    from . import content

    security = store.security(user_id=user_id)
    if security is not None and not content.notes_enabled(store):
        security["objects"].pop("ContentNote", None)
    return security


def system_actor(store):
    """The admin, used as CreatedBy for records the control API makes."""
    return store.security(username="admin@acme.test") or {
        "user_id": None,
        "objects": {},
        "api_enabled": True,
        "is_admin": True,
    }


def authenticate(store, username, password):
    """Return (user_record, None) on success or (None, error message for the sign-in page)."""
    security = store.security(username=(username or "").strip())
    if security is None or security["password"] != password:
        return None, (
            "Please check your username and password. If you still can't log in, contact your Salesforce administrator."
        )
    user = store.get_record(security["user_id"])
    if not user.get("IsActive"):
        return None, (
            "Your account is inactive (the user has been deactivated). Contact your Salesforce administrator."
        )
    return user, None


def is_active(store, user_id):
    user = store.get_record(user_id)
    return bool(user and user.get("IsActive") and not user.get("IsDeleted"))


def set_permissions(store, username, changes):
    """Merge ``{"api_enabled": bool, "objects"|<SObject>: {"read"|"create"|"edit"|"delete": bool}}``."""
    security = store.security(username=username)
    if security is None:
        raise SalesforceError(404, "NOT_FOUND", f"No such user: {username}")
    data = {k: security.get(k) for k in ("api_enabled", "is_admin", "objects", "profile")}
    object_changes = dict(changes.get("objects") or {})
    for key, value in changes.items():
        if key in ("api_enabled", "is_admin"):
            data[key] = bool(value)
        elif key != "objects":
            object_changes[key] = value
    for name, rights in object_changes.items():
        sobject = schema.lookup(name)
        if sobject is None or not isinstance(rights, dict):
            raise SalesforceError(400, "INVALID_TYPE", f"Unknown sObject or rights: {name}")
        data["objects"].setdefault(sobject.name, {}).update(
            {right: bool(flag) for right, flag in rights.items() if right in ("read", "create", "edit", "delete")}
        )
    store.update_security(security["user_id"], data)
    return public_security(store.security(username=username))


def public_security(security):
    return {k: v for k, v in security.items() if k != "password"}


def directory(store):
    """Every user with the facts the sign-in page and control API show."""
    rows = []
    for user in store.records("User"):
        security = store.security(user_id=user["Id"]) or {}
        rows.append(
            {
                "id": user["Id"],
                "username": user["Username"],
                "name": user["Name"],
                "email": user["Email"],
                "active": bool(user["IsActive"]),
                "profile": security.get("profile"),
                "api_enabled": security.get("api_enabled"),
                "objects": security.get("objects"),
            }
        )
    return rows


def add_many(store, count, *, user_type="Standard", active=True, prefix="bulk"):
    """``count`` generated users (``<prefix>.<n>@big.example``) in one transaction, for
    measuring a large org. Returns their ids."""
    from . import seed, state

    if not 0 < int(count) <= 50000:
        raise ValueError("count must be 1 to 50000")
    creator = {"user_id": seed.USER_IDS[seed.ADMIN], "objects": {}}
    created = []
    with store.atomic():
        for n in range(int(count)):
            user_id = store.new_id("User")
            username = f"{prefix}.{n}@big.example"
            state.add_user(
                store, creator, user_id, username, username, "Bulk", f"User{n:05d}", active=active, user_type=user_type
            )
            created.append(user_id)
    return created
