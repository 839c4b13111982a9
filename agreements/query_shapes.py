"""Queries built and compiled once per process, then run with each request's values.

Django builds a queryset and compiles it to SQL in Python, again for every query. For the
queries that every request makes, that cost more than running them: PostgreSQL plans a
prepared statement once, but Django built and compiled the session's query (with its user,
the record's version and the reader permission) and a record page's lookup (with the
versions that key its cache and the reader's Follow state) on each request. On an agreement
page served from the cache, building and compiling its lookup took longer than the rest of
the request.

A `Shape` builds its queryset once for each audience (what `visible_to` depends on, and all
it depends on) and day, with a placeholder for each value that changes from one request to
the next (a slug, a session key, the reader's id, the time). It compiles it, notes where
each placeholder landed among the SQL's parameters, and keeps the compiler, which also maps
the columns back to fields (`select_related` included). Each use copies that compiler, puts
the request's values in the placeholders' places and runs the same SQL.

A placeholder must reach the parameters as it is: an exact lookup or a comparison with a
column. One that a lookup rewrites (`icontains` wraps it in `%`) or that the SQL inlines is
refused when the shape is first compiled. A value that changes within a day and is not a
placeholder would be kept as it was; `timezone.now()` must be one.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Hashable

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.http import Http404

from . import clock
from .models import audience

# Compiled queries kept per shape: one for each audience (no reader, readers, staff) today.
KEPT = 8


def _placeholder(kind: type, number: int):
    """A value of `kind` that no real query holds."""
    if kind is int:
        return -(2**62) - number
    if kind is str:
        return f"\x1fplaceholder {number}\x1f"
    if kind is datetime.datetime:
        return datetime.datetime(1111, 1, 1, microsecond=number, tzinfo=datetime.UTC)
    raise TypeError(f"No placeholder for {kind.__name__} values.")


class Shape:
    """`build(reader, **values)` returns the queryset; `kinds` names each value's type
    (`slug=str, user_id=int`). `reader` decides only what `visible_to` decides: the shape
    is built again for each audience, never for each user."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type):
        self.build = build
        self.placeholders = {
            name: _placeholder(kind, number) for number, (name, kind) in enumerate(kinds.items())
        }
        self._compiled: dict[Hashable, tuple | None] = {}

    def rows(self, reader=None, /, **values) -> list:
        """The rows of the query built for `reader` (None for a query that reads no record
        of the negotiation) with `values`."""
        if values.keys() != self.placeholders.keys():
            raise TypeError(f"Give exactly {', '.join(self.placeholders)}.")
        key = (None if reader is None else audience(reader), clock.today())
        if key not in self._compiled:
            if len(self._compiled) >= KEPT:
                self._compiled.clear()  # yesterday's
            self._compiled[key] = self._compile(reader)
        compiled = self._compiled[key]
        if compiled is None:
            return []  # the query can have no row (`visible_to` of a user who may read none)
        queryset, compiler, sql, params, places = compiled
        params = list(params)
        for name, where in places.items():
            for index in where:
                params[index] = values[name]
        run = copy.copy(compiler)
        run.connection = connections[compiler.using]
        run.as_sql = lambda *args, **kwargs: (sql, tuple(params))
        rows = queryset._chain()  # a copy of the queryset, and of its query
        rows.query.get_compiler = lambda *args, **kwargs: run
        return list(rows)

    def get_or_404(self, reader=None, /, **values):
        """The one row, as `get_object_or_404` finds it."""
        found = self.rows(reader, **values)
        if not found:
            raise Http404("No record matches the given query.")
        return found[0]

    def _compile(self, reader) -> tuple | None:
        queryset = self.build(reader, **self.placeholders)
        compiler = queryset.query.get_compiler(queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        places = {}
        for name, placeholder in self.placeholders.items():
            places[name] = [
                index
                for index, param in enumerate(params)
                if type(param) is type(placeholder) and param == placeholder
            ]
            if not places[name] or str(placeholder) in sql:
                raise ValueError(
                    f"The value {name!r} does not reach the SQL's parameters as it is: "
                    "a Shape can only fill in values compared with a column."
                )
        return queryset, compiler, sql, tuple(params), places
