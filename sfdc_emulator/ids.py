"""Salesforce record ids: 15-char case-sensitive ids with the 3-char case-safe suffix.

Key prefixes are Salesforce's standard ones (Account 001, Contact 003, ...).
The suffix algorithm is the documented one: one character per 5-char chunk
encoding which positions are upper-case letters.
"""

import secrets
import string

KEY_PREFIXES = {
    "Account": "001",
    "Note": "002",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Event": "00U",
    "Organization": "00D",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "ContentDocument": "069",
    "ContentNote": "069",  # a ContentNote is a ContentDocument (FileType SNOTE): same id
    "ContentVersion": "068",
    "ContentDocumentLink": "06A",
}
SOBJECT_BY_PREFIX = {prefix: name for name, prefix in KEY_PREFIXES.items() if name != "ContentNote"}

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_CHARS = string.ascii_uppercase + "012345"
_ID_CHARS = set(string.ascii_letters + string.digits)
_POD = "5g"  # the two "instance" characters after the key prefix, constant per org


def checksum(id15):
    suffix = ""
    for chunk_start in range(0, 15, 5):
        chunk = id15[chunk_start : chunk_start + 5]
        flags = sum(1 << i for i, char in enumerate(chunk) if char in string.ascii_uppercase)
        suffix += _SUFFIX_CHARS[flags]
    return suffix


def make_id(sobject, number):
    """The 18-char id of the ``number``-th record of ``sobject``."""
    body = _base62(number).rjust(10, "0")[-10:]
    id15 = KEY_PREFIXES[sobject] + _POD + body
    return id15 + checksum(id15)


def random_start():
    """A random starting counter, so records created after a reset never reuse old ids."""
    return 62**8 + secrets.randbelow(62**9)


def normalize(value):
    """Return the 18-char form of a 15- or 18-char id, or None if ``value`` is not an id."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    id15 = value[:15]
    full = id15 + checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def sobject_of(value):
    """The sObject name an id belongs to (by key prefix), or None."""
    record_id = normalize(value)
    return SOBJECT_BY_PREFIX.get(record_id[:3]) if record_id else None


def random_token(length):
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def _base62(number):
    digits = ""
    while True:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
        if number == 0:
            return digits
