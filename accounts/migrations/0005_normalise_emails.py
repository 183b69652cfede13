"""Bring every stored email to the normal form of `accounts.models.normalize_email`
(NFKC, case folding, NFKC), which sign-in, registration and password reset now look up
exactly.

Rows already in normal form (every address typed in ASCII, since the old code lower-cased)
are untouched. When several accounts collapse to one normal form (say `sam@…` and `ſam@…`),
none of them is changed: which one the address belongs to is an operator's decision, so the
migration logs a warning naming them (logger `accounts.migrations`) and carries on. Until
resolved, the unnormalised spellings cannot sign in by password (the exact lookup uses the
normal form); the account already in normal form, if any, works as before.

The normalisation is copied here on purpose: a migration must keep doing what it did when
it was written, whatever the model module says later."""

import logging
import unicodedata
from collections import defaultdict

from django.db import IntegrityError, migrations, transaction

logger = logging.getLogger("accounts.migrations")


def _normal(email: str) -> str:
    folded = unicodedata.normalize("NFKC", (email or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def normalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    db = schema_editor.connection.alias
    by_normal: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pk, email in User.objects.using(db).values_list("pk", "email").iterator():
        by_normal[_normal(email)].append((str(pk), email))

    for normal, rows in by_normal.items():
        if all(email == normal for _, email in rows):
            continue
        if len(rows) > 1:
            logger.warning(
                "accounts 0005: %d accounts share the normal email form %r; left unchanged, "
                "resolve by hand: %s",
                len(rows),
                normal,
                ", ".join(f"{pk} ({email!r})" for pk, email in rows),
            )
            continue
        pk, email = rows[0]
        try:
            with transaction.atomic(using=db):  # a savepoint: one refused row does not end the run
                User.objects.using(db).filter(pk=pk).update(email=normal)
        except IntegrityError:
            logger.warning("accounts 0005: account %s (%r) not normalised to %r: it conflicts", pk, email, normal)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_refresh_token_family_current_jti"),
    ]

    operations = [
        migrations.RunPython(normalise_emails, migrations.RunPython.noop, elidable=False),
    ]
