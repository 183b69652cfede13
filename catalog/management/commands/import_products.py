from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.csv_io import import_products


class Command(BaseCommand):
    help = "Upsert products by SKU from a CSV file (columns: see catalog/csv_io.py). Bad rows are reported and skipped."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--by", metavar="EMAIL", help="staff user recorded as created_by/updated_by and on stock moves"
        )

    def handle(self, *args, file, by=None, **options):
        user = None
        if by:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(email__iexact=by).first()
            if user is None:
                raise CommandError(f"no user with email {by}")
        try:
            with open(file, newline="", encoding="utf-8-sig") as fh:
                total = max(sum(1 for _ in fh) - 1, 0)
                fh.seek(0)
                with tqdm(total=total, unit="row", disable=options["verbosity"] == 0, file=self.stderr) as bar:
                    report = import_products(fh, on_row=lambda: bar.update(1), by=user)
        except OSError as exc:
            raise CommandError(str(exc))
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message} (skipped)")
        self.stdout.write(f"created {report.created}, updated {report.updated}, skipped {len(report.errors)}")
        if report.errors and not (report.created or report.updated):
            raise CommandError("no row imported")
