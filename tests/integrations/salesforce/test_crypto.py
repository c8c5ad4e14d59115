"""Tokens at rest and `manage.py rotate_token_keys`."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db.models import TextField
from django.db.models.functions import Cast

from integrations.salesforce.crypto import is_unreadable
from integrations.salesforce.models import SalesforceConnection
from tests.fixtures.factories import make_workspace

pytestmark = pytest.mark.django_db

ACCESS = "00D5g000004PrdA!AQ8AQ-rotation-access-token"
REFRESH = "5Aep861rotation-refresh-token-value"


@pytest.fixture
def keys():
    return {name: Fernet.generate_key().decode() for name in "ABC"}


def raw_tokens(pk) -> tuple[str, str]:
    row = (
        SalesforceConnection.objects.filter(pk=pk)
        .annotate(raw_access=Cast("access_token", TextField()), raw_refresh=Cast("refresh_token", TextField()))
        .values_list("raw_access", "raw_refresh")
        .get()
    )
    return row


def rotate() -> str:
    out = StringIO()
    call_command("rotate_token_keys", stdout=out)
    return out.getvalue()


def test_tokens_are_stored_encrypted(settings, keys):
    settings.TOKEN_ENCRYPTION_KEYS = [keys["A"]]
    connection = SalesforceConnection.objects.create(
        workspace=make_workspace(), access_token=ACCESS, refresh_token=REFRESH
    )

    raw_access, raw_refresh = raw_tokens(connection.pk)

    assert ACCESS not in raw_access and REFRESH not in raw_refresh
    assert Fernet(keys["A"]).decrypt(raw_access.encode()).decode() == ACCESS
    assert repr(SalesforceConnection.objects.get().access_token) == "Secret('[redacted]')"


def test_rotation_re_encrypts_under_the_first_key(settings, keys):
    settings.TOKEN_ENCRYPTION_KEYS = [keys["A"]]
    connection = SalesforceConnection.objects.create(
        workspace=make_workspace(), access_token=ACCESS, refresh_token=REFRESH
    )
    SalesforceConnection.objects.create(workspace=make_workspace("blank"))  # no tokens: nothing to rotate

    settings.TOKEN_ENCRYPTION_KEYS = [keys["B"], keys["A"]]
    output = rotate()

    assert "Re-encrypted the tokens of 1 Salesforce connection(s)" in output
    settings.TOKEN_ENCRYPTION_KEYS = [keys["B"]]
    rotated = SalesforceConnection.objects.get(pk=connection.pk)
    assert (rotated.access_token, rotated.refresh_token) == (ACCESS, REFRESH)
    raw_access, _ = raw_tokens(connection.pk)
    assert Fernet(keys["B"]).decrypt(raw_access.encode()).decode() == ACCESS

    settings.TOKEN_ENCRYPTION_KEYS = [keys["A"]]
    # Loading never raises: the token reads as unreadable, and saving keeps its ciphertext.
    stale = SalesforceConnection.objects.get(pk=connection.pk)
    assert is_unreadable(stale.access_token) and str(stale.access_token) == ""
    stale.save()
    assert raw_tokens(connection.pk)[0] == raw_access


def test_rotation_is_idempotent(settings, keys):
    settings.TOKEN_ENCRYPTION_KEYS = [keys["B"], keys["A"]]
    connection = SalesforceConnection.objects.create(
        workspace=make_workspace(), access_token=ACCESS, refresh_token=REFRESH
    )

    rotate()
    output = rotate()

    assert "1 Salesforce connection(s)" in output
    settings.TOKEN_ENCRYPTION_KEYS = [keys["B"]]
    assert SalesforceConnection.objects.get(pk=connection.pk).refresh_token == REFRESH


def test_rotation_fails_clearly_and_changes_nothing_when_a_key_is_missing(settings, keys):
    settings.TOKEN_ENCRYPTION_KEYS = [keys["A"]]
    first = SalesforceConnection.objects.create(
        workspace=make_workspace("first"), access_token=ACCESS, refresh_token=REFRESH
    )
    settings.TOKEN_ENCRYPTION_KEYS = [keys["C"]]
    orphan = SalesforceConnection.objects.create(workspace=make_workspace("orphan"), access_token=ACCESS)
    before = raw_tokens(first.pk)

    settings.TOKEN_ENCRYPTION_KEYS = [keys["B"], keys["A"]]
    with pytest.raises(
        CommandError, match=f"access_token of Salesforce connection {orphan.pk} cannot be decrypted with any key"
    ):
        rotate()

    assert raw_tokens(first.pk) == before  # one transaction: all rows or none


def test_rotation_without_keys_is_a_clear_error(settings):
    settings.TOKEN_ENCRYPTION_KEYS = []
    SalesforceConnection.objects.create(workspace=make_workspace())  # blank tokens need no key
    assert "0 Salesforce connection(s)" in rotate()

    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    SalesforceConnection.objects.create(workspace=make_workspace("second"), access_token=ACCESS)
    settings.TOKEN_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="TOKEN_ENCRYPTION_KEYS is empty"):
        rotate()
