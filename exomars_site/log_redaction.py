"""Secrets kept out of the logs and error reports.

The personal feed and one-click unsubscribe addresses carry a credential in their path,
and a log is read by more people, and kept longer, than the database: the token in
`/feeds/changes/<token>/` becomes `[token]` in Django's error log (`RedactTokens`) and in
gunicorn's access log (exomars_site/access_log.py). The DEBUG error page also hides what
ends in URL or DSN (`SecretsHidden`).
"""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

# The paths of agreements/urls.py whose last part is a token.
TOKEN_IN_PATH = re.compile(r"(/(?:feeds/changes|feeds/milestones|unsubscribe)/)[^/?#\s\"]+")


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1[token]", text)


class RedactTokens(logging.Filter):
    """For Django's handlers: "Internal Server Error: /feeds/changes/[token]/"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class SecretsHidden(SafeExceptionReporterFilter):
    """Django's filter, and names ending in URL or DSN: DATABASE_URL, MIGRATE_DATABASE_URL
    and the like carry passwords, and the development server copies the environment into
    every request's META, which the DEBUG error page lists."""

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|URL$|DSN$", flags=re.IGNORECASE
    )
