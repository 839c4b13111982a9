#!/usr/bin/env python
"""Django's command-line utility for the negotiation tracker."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exomars_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    from exomars_site.database import DatabaseSetupError, explained

    try:
        import pghistory

        # Every write a command makes is marked with it in the audit trail.
        with pghistory.context(command=" ".join(sys.argv[1:2])):
            execute_from_command_line(sys.argv)
    except DatabaseSetupError as error:
        # The embedded PostgreSQL (DATABASE_URL unset) cannot start: its reason, one line.
        sys.exit(str(error))
    except OperationalError as error:
        # A DATABASE_URL that cannot be reached or logged into: one line, not a traceback.
        message = explained(error)
        if message is None:
            raise
        sys.exit(message)
    except ImproperlyConfigured:
        # Settings that refuse to serve (production without DATABASE_URL, say) can make a
        # check reach for the database before the deploy check names them: name them here.
        from django.conf import settings

        if not settings.STARTUP_REFUSALS:
            raise
        sys.exit(" ".join(settings.STARTUP_REFUSALS))


if __name__ == "__main__":
    main()
