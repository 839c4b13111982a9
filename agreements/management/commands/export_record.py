"""Write the whole negotiation record (not passwords or subscriptions) as versioned JSON."""

import json
import sys

from django.core.management.base import BaseCommand

from agreements.record_io import export_record


class Command(BaseCommand):
    help = "Export the negotiation record as versioned JSON (to a file, or standard output)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default="-", help="file to write; - for stdout")

    def handle(self, *args, path: str, **options):
        def progress(line: str) -> None:
            self.stderr.write(f"  {line}")

        data = export_record(progress=progress)
        if path == "-":
            json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        else:
            with open(path, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False, indent=1)
            self.stderr.write(self.style.SUCCESS(f"Record written to {path}"))
