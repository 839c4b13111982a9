"""gunicorn's access log without the secret tokens of feed and unsubscribe addresses.

`make serve` starts gunicorn with `--logger-class exomars_site.access_log.RedactingLogger`.
Every field of a line is redacted, not the path alone: the Referer of the page after an
unsubscribe page carries its token too.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from .log_redaction import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()
        }
