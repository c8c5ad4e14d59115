"""Re-encrypt every stored token under the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first (old keys after it), run this, then drop the old keys.
Works on the ciphertext itself, so no token is decrypted into a model instance or a log
line. Idempotent: a second run re-encrypts under the same first key.
"""

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from integrations.salesforce import crypto
from integrations.salesforce.models import SalesforceConnection

TOKEN_COLUMNS = ("access_token", "refresh_token")


class Command(BaseCommand):
    help = "Re-encrypt the Salesforce tokens under the first key of TOKEN_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        rows = 0
        try:
            with transaction.atomic():
                for pk, ciphertexts in _ciphertexts():
                    changes = {column: _rotate(pk, column, value) for column, value in ciphertexts.items() if value}
                    if changes:
                        # A Value with a plain TextField is written as is: the encrypted field's
                        # get_prep_value would otherwise encrypt the ciphertext a second time.
                        SalesforceConnection.objects.filter(pk=pk).update(
                            **{column: Value(value, output_field=TextField()) for column, value in changes.items()}
                        )
                        rows += 1
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted the tokens of {rows} Salesforce connection(s) under the first key.")


def _ciphertexts():
    """(pk, {column: ciphertext}) per connection. Cast to a plain TextField skips the encrypted
    field's from_db_value, which would decrypt."""
    raw = {f"raw_{column}": Cast(column, output_field=TextField()) for column in TOKEN_COLUMNS}
    queryset = SalesforceConnection.objects.select_for_update().order_by("pk").annotate(**raw)
    for row in queryset.values("pk", *raw):
        yield row["pk"], {column: row[f"raw_{column}"] for column in TOKEN_COLUMNS}


def _rotate(pk: int, column: str, ciphertext: str) -> str:
    try:
        return crypto.rotate(ciphertext)
    except InvalidToken:
        raise CommandError(
            f"The {column} of Salesforce connection {pk} cannot be decrypted with any key in TOKEN_ENCRYPTION_KEYS. "
            "Nothing was changed: add the key it was encrypted with and run again."
        ) from None
