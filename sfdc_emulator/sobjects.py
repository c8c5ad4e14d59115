"""``/sobjects`` resources: global describe, describe, and record CRUD.

Create answers 201 ``{"id","success":true,"errors":[]}``; PATCH and DELETE answer 204;
a deleted record answers 404 ENTITY_IS_DELETED; an unknown or malformed id 404 NOT_FOUND
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm).
Describe is computed for the calling user's object permissions.
"""

from . import content, ids, records, schema
from .errors import SalesforceError, not_found
from .results import Result, method_not_allowed, require_method


def route(ctx, method, parts, params, body):
    if not parts:
        require_method(method, ["GET"])
        return Result(200, global_describe(ctx))
    sobject = schema.lookup(parts[0])
    if sobject is None or not records.can(ctx.actor, sobject.name, "read"):
        raise not_found()
    if len(parts) == 1:
        if method == "GET":
            return Result(200, {"objectDescribe": _object_summary(ctx, sobject), "recentItems": []})
        require_method(method, ["GET", "POST"])
        record_id = records.create(ctx.app.store, ctx.actor, sobject.name, body)
        location = f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{record_id}"
        return Result(201, {"id": record_id, "success": True, "errors": []}, {"Location": location})
    if len(parts) == 2 and parts[1] == "describe":
        require_method(method, ["GET"])
        return Result(200, describe(ctx, sobject))
    if len(parts) == 3 and getattr(sobject.field(parts[2]), "type", "") == "base64":
        require_method(method, ["GET"])
        _, record = records.fetch(ctx.app.store, ctx.actor, sobject.name, parts[1])
        return Result(200, content.blob(record, sobject.field(parts[2]).name))
    if len(parts) != 2:
        raise not_found()
    record_id = parts[1]
    if method == "GET":
        return Result(200, _get(ctx, sobject, record_id, params.get("fields")))
    if method == "PATCH":
        records.update(ctx.app.store, ctx.actor, sobject.name, record_id, body)
        return Result(204)
    if method == "DELETE":
        records.delete(ctx.app.store, ctx.actor, sobject.name, record_id)
        return Result(204)
    raise method_not_allowed(method, ["GET", "PATCH", "DELETE"])


def describe(ctx, sobject):
    summary = _object_summary(ctx, sobject)
    summary["fields"] = [_describe_field(ctx, sobject, f) for f in sobject.fields.values()]
    return summary


def global_describe(ctx):
    visible = [s for s in schema.OBJECTS.values() if records.can(ctx.actor, s.name, "read")]
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [_object_summary(ctx, s) for s in visible]}


def _get(ctx, sobject, record_id, fields_param):
    if ids.normalize(record_id) is None:
        raise SalesforceError(
            404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
        )
    sobject, record = records.fetch(ctx.app.store, ctx.actor, sobject.name, record_id)
    fields = records.resolve_fields(sobject, fields_param.split(",")) if fields_param else None
    return records.api_view(sobject, record, ctx.version, fields)


def _object_summary(ctx, sobject):
    rights = {right: _allowed(ctx, sobject, right) for right in ("create", "edit", "delete")}
    base = f"/services/data/v{ctx.version}/sobjects/{sobject.name}"
    return {
        "name": sobject.name,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "keyPrefix": sobject.key_prefix,
        "custom": False,
        "createable": rights["create"],
        "updateable": rights["edit"],
        "deletable": rights["delete"],
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "triggerable": True,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def _describe_field(ctx, sobject, field):
    return {
        "name": field.name,
        "label": field.label,
        "type": field.type,
        "length": field.length,
        "createable": field.createable and _allowed(ctx, sobject, "create"),
        "updateable": field.updateable and _allowed(ctx, sobject, "edit"),
        "nillable": field.nillable,
        "filterable": field.filterable,
        "sortable": field.filterable,
        "defaultedOnCreate": field.type == "boolean" or field.name in ("OwnerId", "Status"),
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "polymorphicForeignKey": field.polymorphic,
        "custom": False,
        "idLookup": field.name in ("Id", "Email", "Username", "Name"),
    }


def _allowed(ctx, sobject, right):
    flag = {"create": sobject.createable, "edit": sobject.updateable, "delete": sobject.deletable}[right]
    return flag and records.can(ctx.actor, sobject.name, right)
