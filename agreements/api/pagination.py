"""Cursor pages: a script follows `next` and sees every row once, even while editors add
records, and a page costs one query however deep it is (no OFFSET, no COUNT)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class RecordCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("id",)

    def get_ordering(self, request: Request, queryset: QuerySet, view) -> tuple:
        return tuple(getattr(view, "ordering", self.ordering))

    def decode_cursor(self, request: Request):
        invalid = exceptions.ValidationError(
            {"detail": _("This cursor is not valid: follow a page's next or previous link.")}
        )
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise invalid from None
        # Every list is ordered by id: a hand-made cursor with another position would reach
        # the database as a comparison of the id with text.
        if cursor is not None and cursor.position is not None and not cursor.position.isdigit():
            raise invalid
        return cursor

    def get_page_size(self, request: Request) -> int:
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        if not asked.isdigit() or not 1 <= int(asked) <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    "detail": _("page_size must be a whole number from 1 to %(max)d.")
                    % {"max": self.max_page_size}
                }
            )
        return int(asked)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        # OpenAPI 3.1 says "may be null" with a type list; the `nullable` of Django REST
        # framework's own schema is OpenAPI 3.0 and would promise a string.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last."},
                "previous": {**link, "description": "The page before, or null on the first."},
                "results": schema,
            },
        }
