"""Record services shared by REST, composite, collections and the control API.

Each function raises SalesforceError with Salesforce's status and body. ``actor`` is
the calling user's security dict (see users.py); ``trusted=True`` is the control API
acting "as a person in Salesforce": no permission checks, and any schema field
(even system fields) may be set.
"""

from . import content, ids, rules, schema, values
from .errors import SalesforceError, entity_is_deleted, json_parser_error, not_found


def create(store, actor, sobject_name, body, *, trusted=False, validate=True):
    """Insert a record; returns its id. Not idempotent.

    ``validate=False`` (seeding, control API on request) skips the save rules but still
    derives computed fields.
    """
    sobject = _object_for(actor, sobject_name, "create", trusted)
    changes = _parse_body(sobject, body, "createable", trusted)
    now = values.now()
    record = dict.fromkeys(sobject.fields)
    record.update(
        {
            "Id": changes.pop("Id", None) or store.new_id(schema.storage(sobject.name)),
            "IsDeleted": False,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            "CreatedById": actor["user_id"],
            "LastModifiedById": actor["user_id"],
        }
    )
    record.update(_defaults(sobject, actor))
    record.update(changes)
    record["SystemModstamp"] = record["LastModifiedDate"]
    changed = set(changes) | ({"OwnerId"} & set(sobject.fields))
    _apply_rules(store, sobject, record, changed, validate)
    store.insert_record(schema.storage(sobject.name), record)
    content.after_insert(store, sobject, record)
    return record["Id"]


def update(store, actor, sobject_name, record_id, body, *, trusted=False, validate=True):
    """Apply a partial update (PATCH semantics). Idempotent for the same body."""
    sobject = _object_for(actor, sobject_name, "edit", trusted)
    record = _existing(store, sobject, record_id)
    changes = _parse_body(sobject, body, "updateable", trusted)
    if sobject.name == "Lead" and record.get("IsConverted") and not trusted:
        raise SalesforceError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
    record.update(changes)
    if not trusted or "LastModifiedDate" not in changes:
        record.update({"LastModifiedDate": values.now(), "LastModifiedById": actor["user_id"]})
    record["SystemModstamp"] = record["LastModifiedDate"]
    _apply_rules(store, sobject, record, set(changes), validate)
    store.save_record(record)


def delete(store, actor, sobject_name, record_id, *, trusted=False):
    """Move a record to the recycle bin (IsDeleted=true, still visible to queryAll)."""
    sobject = _object_for(actor, sobject_name, "delete", trusted)
    record = _existing(store, sobject, record_id)
    now = values.now()
    record.update(
        {"IsDeleted": True, "LastModifiedDate": now, "SystemModstamp": now, "LastModifiedById": actor["user_id"]}
    )
    store.save_record(record)
    content.after_delete(store, sobject, record)


def fetch(store, actor, sobject_name, record_id):
    """The stored record (all fields), checking read access."""
    sobject = _object_for(actor, sobject_name, "read", trusted=False)
    return sobject, _existing(store, sobject, record_id)


def api_view(sobject, record, version, fields=None):
    """A record as REST returns it: ``attributes`` first, then the fields."""
    names = fields or list(sobject.fields)
    view = {"attributes": attributes(sobject.name, record["Id"], version)}
    view.update({name: content.api_value(sobject, name, record, version) for name in names})
    return view


def attributes(type_name, record_id, version):
    sobject_name = ids.sobject_of(record_id) or type_name
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{sobject_name}/{record_id}"}


def resolve_fields(sobject, names):
    """Canonical names for a ``?fields=`` list; INVALID_FIELD for unknown ones."""
    resolved = []
    for name in names:
        field = sobject.field(name.strip())
        if field is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"No such column '{name.strip()}' on entity '{sobject.name}'. "
                "If you are attempting to use a custom field, be sure to append "
                "the '__c' after the custom field name. Please reference your "
                "WSDL or the describe call for the appropriate names.",
            )
        resolved.append(field.name)
    return resolved


def can(actor, sobject_name, right):
    return bool(actor["objects"].get(sobject_name, {}).get(right))


# -- helpers -----------------------------------------------------------------------------

_RIGHT_ERRORS = {
    # Observed on real orgs when the profile lacks the object permission (public reports:
    # "400 CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY entity type cannot be inserted: Contact").
    "create": ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be inserted: {label}"),
    "edit": ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be updated: {label}"),
    "delete": ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"),
}


def _object_for(actor, sobject_name, right, trusted):
    sobject = schema.OBJECTS.get(sobject_name)
    if sobject is None or (not trusted and not can(actor, sobject.name, "read")):
        raise not_found()
    object_flag = {"create": sobject.createable, "edit": sobject.updateable, "delete": sobject.deletable, "read": True}[
        right
    ]
    if not trusted and not (object_flag and can(actor, sobject.name, right)):
        code, message = _RIGHT_ERRORS[right]
        raise SalesforceError(400, code, message.format(label=sobject.label), [])
    return sobject


def _existing(store, sobject, record_id):
    normalized = ids.normalize(record_id)
    record = store.get_record(normalized) if normalized else None
    if record is None or ids.sobject_of(normalized) != schema.storage(sobject.name):
        raise not_found()
    if record.get("IsDeleted"):
        raise entity_is_deleted()
    return record


def _parse_body(sobject, body, flag, trusted):
    if not isinstance(body, dict):
        raise json_parser_error(
            "Cannot deserialize instance of "
            + sobject.name
            + " from START_ARRAY value [ or request may be missing a required "
            "field"
        )
    changes, forbidden = {}, []
    for key, value in body.items():
        if key == "attributes":
            continue
        field = sobject.field(key)
        if field is None:
            raise SalesforceError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}", [])
        if not trusted and not getattr(field, flag):
            forbidden.append(field.name)
            continue
        changes[field.name] = values.coerce(field, value)
    if forbidden:
        raise SalesforceError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(forbidden)}. Please "
            "check the security settings of this field and verify that it is "
            "read/write for your profile or permission set.",
            forbidden,
        )
    return changes


def _defaults(sobject, actor):
    defaults = {f.name: False for f in sobject.fields.values() if f.type == "boolean"}
    defaults["IsDeleted"] = False
    if "OwnerId" in sobject.fields:
        defaults["OwnerId"] = actor["user_id"]
    if sobject.name == "Lead":
        defaults["Status"] = schema.DEFAULT_LEAD_STATUS
    if sobject.name == "User":
        defaults["IsActive"] = True
    return defaults


def _apply_rules(store, sobject, record, changed, validate):
    rules.derive(store, sobject, record, changed)
    content.derive(store, sobject, record, changed)
    if validate:
        rules.validate(store, sobject, record, changed)
        content.validate(store, sobject, record, changed)
    record.pop("_duration_mismatch", None)
    record.pop("_activity_mismatch", None)
