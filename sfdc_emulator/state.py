"""Seeding, settings and the API usage counter."""

import secrets

from . import records, seed

DEFAULT_SETTINGS = {
    "query_batch_size": 2000,  # Salesforce's default (and maximum) query batch
    "daily_api_limit": 15000,
    "session_seconds": 7200,  # access token lifetime (Salesforce's default session timeout)
    "code_ttl_seconds": 900,
    # Org and connected-app settings a real customer org may have (see README.md):
    "refresh_token_rotation": False,  # nosec B105  # a switch: each refresh answer carries a new refresh token
    "login_hosts_only": "",  # comma-separated host[:port]: OAuth refused at any other host
    "instance_host": "",  # host instance_url names (an org moved instances); "" = this server
    "authorize_error": "",  # e.g. OAUTH_EC_APP_NOT_FOUND: authorize redirects back with it
    "token_error": "",  # nosec B105  # an error code switch, e.g. inactive_user: the token endpoint answers it (both grants)
    "api_disabled_for_org": False,  # every REST call: 403 API_DISABLED_FOR_ORG
    "token_latency_ms": 0,  # nosec B105  # a delay: token endpoint answers only (not /services/data)
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
        current.update({key: _typed(key, value) for key, value in changes.items()})
        store.kv_set("settings", current)
        if "daily_api_limit" in changes:
            set_usage(store, total=current["daily_api_limit"])
    return current


def _typed(key, value):
    default = DEFAULT_SETTINGS[key]
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(default, str):
        return str(value or "")
    return int(value)


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
    _seed_organization(store, creator)
    for profile, view_all in seed.PROFILE_VIEW_ALL_DATA.items():
        records.create(
            store,
            creator,
            "PermissionSet",
            {
                "Id": seed.ID[f"permset:{profile}"],
                "Name": "X" + profile.replace(" ", ""),
                "Label": profile,
                "IsOwnedByProfile": True,
                "PermissionsViewAllData": view_all,
                "PermissionsModifyAllData": view_all,
                "PermissionsApiEnabled": True,
            },
            trusted=True,
            validate=False,
        )
    standard = [
        (key, username, username, first, last, active, zone, profile, permissions, "Standard")
        for key, username, first, last, active, zone, profile, permissions in seed.USERS
    ]
    others = [
        (key, username, email, first, last, True, "Europe/London", profile, seed._permissions(), user_type)
        for key, username, email, first, last, user_type, profile in seed.NON_STANDARD_USERS
    ]
    for key, username, email, first, last, active, zone, profile, permissions, user_type in standard + others:
        add_user(
            store,
            creator,
            seed.ID[key],
            username,
            email,
            first,
            last,
            active=active,
            zone=zone,
            profile=profile,
            permissions=permissions,
            user_type=user_type,
        )


def add_user(
    store,
    creator,
    user_id,
    username,
    email,
    first,
    last,
    *,
    active=True,
    zone="Europe/London",
    profile="Standard User",
    permissions=None,
    user_type="Standard",
):
    """A User with its security row and its profile's permission set assignment."""
    records.create(
        store,
        creator,
        "User",
        {
            "Id": user_id,
            "Username": username,
            "Email": email,
            "FirstName": first,
            "LastName": last,
            "Alias": (first[0] + last[:4]).lower(),
            "IsActive": active,
            "TimeZoneSidKey": zone,
            "UserType": user_type,
            "CreatedDate": seed.SEED_CREATED,
            "LastModifiedDate": seed.SEED_CREATED,
        },
        trusted=True,
        validate=False,
    )
    store.set_security(user_id, username, seed.PASSWORD, {**(permissions or seed._permissions()), "profile": profile})
    permission_set = seed.ID.get(f"permset:{profile}") or seed.ID["permset:Standard User"]
    records.create(
        store,
        creator,
        "PermissionSetAssignment",
        {"AssigneeId": user_id, "PermissionSetId": permission_set},
        trusted=True,
        validate=False,
    )


def _seed_organization(store, creator):
    records.create(
        store,
        creator,
        "Organization",
        {
            "Id": seed.PRODUCTION_ORG_ID,
            "Name": seed.ORG_NAME,
            "IsSandbox": False,
            "InstanceName": "NA1",
            "OrganizationType": "Enterprise Edition",
            "CreatedDate": seed.SEED_CREATED,
            "LastModifiedDate": seed.SEED_CREATED,
        },
        trusted=True,
        validate=False,
    )


def _seed_records(store):
    creator = {"user_id": seed.USER_IDS[seed.ADMIN], "objects": {}}
    for sobject, key, fields in seed.RECORDS:
        body = {
            name: seed.ID[value[1:]] if isinstance(value, str) and value.startswith("@") else value
            for name, value in fields.items()
        }
        created, modified = seed.SEED_DATES.get(key, (seed.SEED_CREATED, seed.SEED_CREATED))
        body.update({"Id": seed.ID[key], "CreatedDate": created, "LastModifiedDate": modified})
        records.create(store, creator, sobject, body, trusted=True, validate=False)
