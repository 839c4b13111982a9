"""PostgreSQL through psycopg 3, its queries bound on the server so that those run again
are prepared (settings: `DATABASE_PREPARED_STATEMENTS`).

django-pghistory gives each write made in a request or a command its context by putting a
`SELECT set_config(...)` in front of it: two statements in one, which PostgreSQL will not
prepare nor bind on the server. Those writes alone are bound on the client, as Django binds
every query by default; all other queries are bound on the server.
"""

import contextlib
from contextvars import ContextVar

import psycopg
from django.db.backends.postgresql import base

# What django-pghistory puts in front of a write (pghistory.runtime._inject_history_context).
AUDIT_CONTEXT = "SELECT set_config('pghistory.context_id', "


# False inside `planned_each_time()`: the queries run there are never prepared.
_prepare: ContextVar[bool | None] = ContextVar("prepare", default=None)


@contextlib.contextmanager
def planned_each_time():
    """Queries whose best plan depends on their parameters' values are planned for each
    run, not prepared: full-text search, whose plan depends on how common the words are,
    ran slower on a prepared statement's generic plan than it took to plan afresh."""
    token = _prepare.set(False)
    try:
        yield
    finally:
        _prepare.reset(token)


class Cursor(base.ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, **kwargs):
        text = query.decode() if isinstance(query, bytes) else query
        if params and isinstance(text, str) and text.startswith(AUDIT_CONTEXT):
            query, params = psycopg.ClientCursor(self.connection).mogrify(text, params), None
        if prepare is None:
            prepare = _prepare.get()
        return super().execute(query, params, prepare=prepare, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is True:
            params["cursor_factory"] = Cursor
        return params
