# IdempotencyRecord moved to core (its table stays: only the model state leaves orders).
# OrderEmail is replaced by core's sent-email ledger: its rows are copied there first, as
# `order.<kind>` keyed by the order id, so no email already sent is sent again.

from django.db import migrations


def copy_sent_marks(apps, schema_editor):
    OrderEmail = apps.get_model("orders", "OrderEmail")
    SentEmail = apps.get_model("core", "SentEmail")
    SentEmail.objects.bulk_create(
        [
            SentEmail(kind=f"order.{row.kind}"[:64], key=str(row.order_id), sent_at=row.sent_at)
            for row in OrderEmail.objects.all().iterator()
        ],
        ignore_conflicts=True,
    )


def copy_sent_marks_back(apps, schema_editor):
    OrderEmail = apps.get_model("orders", "OrderEmail")
    SentEmail = apps.get_model("core", "SentEmail")
    Order = apps.get_model("orders", "Order")
    rows = SentEmail.objects.filter(kind__startswith="order.", sent_at__isnull=False)
    known = {str(pk) for pk in Order.objects.values_list("pk", flat=True)}
    OrderEmail.objects.bulk_create(
        [
            OrderEmail(order_id=row.key, kind=row.kind.removeprefix("order."))
            for row in rows
            if row.key in known
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_idempotency_key"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
        migrations.RunPython(copy_sent_marks, copy_sent_marks_back),
        migrations.DeleteModel(
            name="OrderEmail",
        ),
    ]
