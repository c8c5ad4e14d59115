"""Seeding, settings and the API usage counter."""

import secrets

from . import records, seed

DEFAULT_SETTINGS = {
    "query_batch_size": 2000,  # Salesforce's default (and maximum) query batch
    "daily_api_limit": 15000,
    "session_seconds": 7200,  # access token lifetime (Salesforce's default session timeout)
    "code_ttl_seconds": 900,
    "enhanced_notes": 1,  # Setup > Notes Settings > Enable Notes (ContentNote); 0 turns it off
}


def reset(store):
    """Wipe everything and load the seed org. Idempotent."""
    with store.atomic():
        store.wipe()
        store.kv_set("secret", secrets.token_hex(32))
        store.kv_set("settings", dict(DEFAULT_SETTINGS))
        store.kv_set("usage", {"used": 0, "total": DEFAULT_SETTINGS["daily_api_limit"]})
        store.kv_set("faults", {})
        _seed_users(store)
        _seed_records(store)


def ensure_seeded(store):
    if store.kv_get("settings") is None:
        reset(store)


def settings(store):
    return {**DEFAULT_SETTINGS, **(store.kv_get("settings") or {})}


def update_settings(store, changes):
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    with store.atomic():
        current = settings(store)
        current.update({key: int(value) for key, value in changes.items()})
        store.kv_set("settings", current)
        if "daily_api_limit" in changes:
            set_usage(store, total=current["daily_api_limit"])
    return current


def usage(store):
    return store.kv_get("usage") or {"used": 0, "total": DEFAULT_SETTINGS["daily_api_limit"]}


def set_usage(store, used=None, total=None):
    with store.atomic():
        current = usage(store)
        if used is not None:
            current["used"] = int(used)
        if total is not None:
            current["total"] = int(total)
        store.kv_set("usage", current)
    return current


def count_api_call(store):
    """Count one call against the daily allotment; False (not counted) if it is used up."""
    with store.atomic():
        current = usage(store)
        if current["used"] >= current["total"]:
            return False
        current["used"] += 1
        store.kv_set("usage", current)
    return True


def _seed_users(store):
    creator = {"user_id": seed.USER_IDS[seed.ADMIN], "objects": {}}
    for key, username, first, last, active, zone, profile, permissions in seed.USERS:
        user_id = seed.ID[key]
        records.create(store, creator, "User", {
            "Id": user_id, "Username": username, "Email": username, "FirstName": first,
            "LastName": last, "Alias": (first[0] + last[:4]).lower(), "IsActive": active,
            "TimeZoneSidKey": zone,
            "CreatedDate": seed.SEED_CREATED, "LastModifiedDate": seed.SEED_CREATED,
        }, trusted=True, validate=False)
        store.set_security(user_id, username, seed.PASSWORD, {**permissions, "profile": profile})


def _seed_records(store):
    creator = {"user_id": seed.USER_IDS[seed.ADMIN], "objects": {}}
    for sobject, key, fields in seed.RECORDS:
        body = {name: seed.ID[value[1:]] if isinstance(value, str) and value.startswith("@")
                else value for name, value in fields.items()}
        created, modified = seed.SEED_DATES.get(key, (seed.SEED_CREATED, seed.SEED_CREATED))
        body.update({"Id": seed.ID[key], "CreatedDate": created, "LastModifiedDate": modified})
        records.create(store, creator, sobject, body, trusted=True, validate=False)
