"""Load a record written by export_record into an empty database."""

import json

from django.core.management.base import BaseCommand, CommandError

from agreements.record_io import RecordImportError, import_record


class Command(BaseCommand):
    help = "Import a negotiation record exported by export_record into an empty database."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the JSON file written by export_record")

    def handle(self, *args, path: str, **options):
        try:
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{path} is not JSON: {error}") from error

        def progress(line: str) -> None:
            self.stdout.write(f"  {line}")

        try:
            counts = import_record(data, progress=progress)
        except RecordImportError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Imported {sum(counts.values())} records from {path}.")
        )
        self.stdout.write("Accounts were created without passwords: set them before use.")
