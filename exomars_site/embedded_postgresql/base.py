"""The project's PostgreSQL backend (exomars_site/postgresql), with the embedded server
started on the first connection.

Settings name this backend when DATABASE_URL is unset. Starting the server in settings ran
initdb or pg_ctl for every command, `manage.py help`, `makemessages` and `check` included;
here only a command that connects starts it.
"""

from django.utils.functional import cached_property

from exomars_site import database
from exomars_site.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # The first connection of a process makes sure the server answers (a stale socket file
    # after a crash is not a server); later ones only look for its socket, which a
    # `make db-stop` in the meantime removes.
    server_checked = False

    def get_connection_params(self) -> dict:
        if not DatabaseWrapper.server_checked or not database.socket_file().exists():
            database.embedded_database_url()
            DatabaseWrapper.server_checked = True
        params = super().get_connection_params()
        params["host"] = str(database.socket_dir())
        params["port"] = database.PORT
        return params

    @cached_property
    def pg_version(self) -> int:
        # The system checks ask the server's version (whether GeneratedField is supported),
        # which would start the server for `check` or `makemigrations --check`; the embedded
        # server's major version is known, and the features only compare major versions.
        if self.connection is None:
            return database.MAJOR_VERSION * 10000
        return self.connection.info.server_version
