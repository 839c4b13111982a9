#!/usr/bin/env python
"""Django's command-line utility for the negotiation tracker."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exomars_site.settings")
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    from exomars_site.database import explained

    try:
        import pghistory

        # Every write a command makes is marked with it in the audit trail.
        with pghistory.context(command=" ".join(sys.argv[1:2])):
            execute_from_command_line(sys.argv)
    except OperationalError as error:
        # A DATABASE_URL that cannot be reached or logged into: one line, not a traceback.
        message = explained(error)
        if message is None:
            raise
        sys.exit(message)


if __name__ == "__main__":
    main()
