"""The identity URL: ``GET /id/<orgId>/<userId>`` with a Bearer token.

Fields per "Using Identity URLs" (Mobile SDK docs) and /work/shared/docs/salesforce-api-notes.md
§1; ``urls`` keep Salesforce's literal ``{version}`` placeholder unless ``?version=`` is
given. A token the service does not accept gets 403 with the plain-text body
``Bad_OAuth_Token`` (where the data API would answer 401).
"""

from . import seed, tokens
from .web import json_response, text_response


def handle(app, request, path, sandbox):
    parts = path.strip("/").split("/")
    token = request.bearer_token() or request.params.get("oauth_token")
    found = tokens.session(app, token)
    if found is None:
        return text_response(403, "Bad_OAuth_Token")
    row, _ = found
    org = tokens.org_of(sandbox)
    if len(parts) != 3 or row["org"] != org or parts[1] != tokens.ORG_IDS[org] or parts[2] != row["user_id"]:
        return text_response(403, "Bad_Id")
    return json_response(200, identity(app, row, request.params.get("version")))


def identity(app, row, version=None):
    user = app.store.get_record(row["user_id"])
    org_id = tokens.ORG_IDS[row["org"]]
    base, version = app.base_url, version or "{version}"
    data = f"{base}/services/data/v{version}"
    return {
        "id": tokens.identity_url(app, row["org"], user["Id"]),
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": org_id,
        "username": user["Username"],
        "nick_name": user["Username"].split("@")[0],
        "display_name": user["Name"],
        "email": user["Email"],
        "email_verified": True,
        "first_name": user["FirstName"],
        "last_name": user["LastName"],
        "timezone": user["TimeZoneSidKey"],
        "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": None,
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": {
            "enterprise": f"{base}/services/Soap/c/{version}/{org_id[:15]}",
            "metadata": f"{base}/services/Soap/m/{version}/{org_id[:15]}",
            "partner": f"{base}/services/Soap/u/{version}/{org_id[:15]}",
            "rest": f"{data}/",
            "sobjects": f"{data}/sobjects/",
            "search": f"{data}/search/",
            "query": f"{data}/query/",
            "recent": f"{data}/recent/",
            "tooling_rest": f"{data}/tooling/",
            "profile": f"{base}/{user['Id']}",
            "feeds": f"{data}/chatter/feeds",
            "groups": f"{data}/chatter/groups",
            "users": f"{data}/chatter/users",
            "feed_items": f"{data}/chatter/feed-items",
            "feed_elements": f"{data}/chatter/feed-elements",
            "custom_domain": base,
        },
        "active": bool(user["IsActive"]),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": user["LastModifiedDate"],
        "is_app_installed": True,
        "organization_name": seed.ORG_NAME,
    }
