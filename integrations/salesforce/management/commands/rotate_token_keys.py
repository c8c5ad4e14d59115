"""Re-encrypt every stored token under the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first (old keys after it), run this, then drop the old keys.
Works on the ciphertext columns directly, so no token is ever decrypted into a model
instance or a log line. Idempotent: running it again re-encrypts under the same key.
"""
from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.salesforce import crypto
from integrations.salesforce.models import SalesforceConnection

TOKEN_COLUMNS = ("access_token", "refresh_token")


class Command(BaseCommand):
    help = "Re-encrypt the Salesforce tokens under the first key of TOKEN_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        rows = 0
        with transaction.atomic():
            # .values_list reads the raw column: from_db_value (decryption) is not applied to it.
            for pk, *ciphertexts in SalesforceConnection.objects.select_for_update().values_list("pk", *TOKEN_COLUMNS):
                changes = {}
                for column, ciphertext in zip(TOKEN_COLUMNS, ciphertexts):
                    if not ciphertext:
                        continue
                    try:
                        changes[column] = crypto.rotate(ciphertext)
                    except InvalidToken:
                        raise CommandError(
                            f"The {column} of Salesforce connection {pk} cannot be decrypted with any key in "
                            "TOKEN_ENCRYPTION_KEYS. Nothing was changed: add the key it was encrypted with and run again."
                        ) from None
                if changes:
                    # .update() on the queryset would re-encrypt through get_prep_value; the raw
                    # ciphertext is written with the column's plain TextField behaviour instead.
                    _write_raw(pk, changes)
                    rows += 1
        self.stdout.write(f"Re-encrypted the tokens of {rows} Salesforce connection(s) under the first key.")
