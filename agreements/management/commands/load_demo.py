"""`manage.py load_demo [--force]`: the ExoMars demo record and three demo accounts.

The work is in agreements.demo; this command checks that it may run, and prints.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.demo import (
    DEFAULT_DEMO_PASSWORD,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD_VARIABLE,
    DemoCannotLoad,
    demo_password,
    load_demo,
)


class Command(BaseCommand):
    help = (
        "Load the ExoMars demo record (ESA and Roscosmos, November 2012) and the demo accounts "
        "editor, stakeholder and manager. Their password is $DEMO_PASSWORD, or "
        f'"{DEFAULT_DEMO_PASSWORD}" when it is unset. Safe to run again: it finds what '
        "exists and resets the demo accounts' passwords and groups. Runs only with DEBUG on, "
        "unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off (a staging server): the accounts get a known password.",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        # Accounts with a documented password are an open door on a real server, so a
        # production-like configuration needs an explicit --force.
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like a real server: load_demo would create "
                "accounts with a known password. Nothing was loaded. Run it with DEBUG=1 "
                "(make demo does), or pass --force and set DEMO_PASSWORD."
            )
        try:
            load_demo(report=self.stdout.write)
        except DemoCannotLoad as error:
            raise CommandError(f"{error} Nothing was loaded.") from error

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("ExoMars demo loaded. Log in as:"))
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<12} {account.description}")
        # A chosen password is not echoed: the output may end up in a CI log.
        if demo_password() == DEFAULT_DEMO_PASSWORD:
            self.stdout.write(
                f'with the password "{DEFAULT_DEMO_PASSWORD}" '
                f"(set {DEMO_PASSWORD_VARIABLE} to choose another)."
            )
        else:
            self.stdout.write(f"with the password in ${DEMO_PASSWORD_VARIABLE}.")
