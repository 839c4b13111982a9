"""Give the app's database role what it needs and no more; run as the tables' owner."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from agreements.database_guards import grant_runtime_privileges


class Command(BaseCommand):
    help = (
        "Grant the role the app connects as its privileges on every table (SELECT and INSERT "
        "only on append-only ones). Run as the owner after each migrate; `make serve` does."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the app connects as (DATABASE_URL's user)")

    def handle(self, *args, role: str, **options):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, %s IN (SELECT rolname FROM pg_roles)", [role])
            owner, exists = cursor.fetchone()
        if not exists:
            raise CommandError(f"There is no role {role!r}. Create it first (README).")
        if role == owner:
            # Taking back the owner's privileges on its own tables would lock the app out,
            # and would not protect anything: an owner can grant them to itself again.
            raise CommandError(
                f"{role!r} owns the tables: the app needs a role of its own (README, "
                "“Two database roles”)."
            )
        statements = grant_runtime_privileges(role)
        self.stdout.write(f"Granted {role} its privileges ({len(statements)} statements).")
