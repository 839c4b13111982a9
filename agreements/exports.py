"""Spreadsheet downloads of the reader lists: the same URL with `?format=csv` or `?format=xlsx`.

A download holds exactly the rows the page shows with its current filters (every page of
them, not only the first), through the same `visible_to` queryset, in the columns of the
page's own table (agreements/tables.py): an internal record never reaches a sheet it would
not reach on the page, and a column added to a page reaches its download.

- CSV streams row by row (`StreamingHttpResponse`): a 200,000-line timeline never sits in
  memory. It starts with a byte-order mark so that Excel reads it as UTF-8.
- XLSX is written by XlsxWriter in constant-memory mode, row by row, into a temporary
  file that is then streamed: memory stays flat whatever the number of rows.
- Amounts are numbers and dates are dates (typed cells in XLSX, ISO dates in CSV); an
  approximate date has its precision ("Month") in the column beside it.
- Text that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
  carriage return) is neutralized: in CSV with a leading apostrophe, in XLSX as a text
  cell marked "quote prefix", which Excel shows without the apostrophe and never evaluates.
- A download of up to `KEEP_UP_TO` is kept in the page cache under the page's own key
  (agreements/record_cache.py: the versions of what it shows, the reader's audience, the
  language and the day) and the URL: asked again before the record changes, it costs no
  query. A longer one is written afresh each time, so that the cache's entries stay small.
"""

from __future__ import annotations

import csv
import datetime
import enum
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter
from django.core.cache import cache
from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import record_cache
from .models import DatePrecision, shown_to
from .tables import Column, Kind

FORMATS = ("csv", "xlsx")
# Rows fetched from the database at a time: enough to keep round trips few, small enough
# that a chunk of model instances is a few megabytes at most.
CHUNK_ROWS = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The longest download kept in the page cache, in characters (CSV) or bytes (XLSX): a list
# page's worth of rows many times over, while a worker's cache of a few hundred entries
# stays within tens of megabytes.
KEEP_UP_TO = 256 * 1024


class Cell(enum.StrEnum):
    """How a sheet writes a value."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"


@dataclass(frozen=True)
class SheetColumn:
    heading: str
    value: Callable[[object], object]
    cell: Cell = Cell.TEXT
    width: int = 18


def requested_format(request: HttpRequest) -> str | None:
    """`csv`, `xlsx`, or None for the page itself; anything else is a 400."""
    wanted = request.GET.get("format")
    if wanted is None or wanted == "":
        return None
    if wanted not in FORMATS:
        raise BadRequest(_("Downloads are offered as format=csv or format=xlsx."))
    return wanted


def neutralize(text: str) -> str:
    """The text, or the text behind an apostrophe if a spreadsheet would run it."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(sep=" ", timespec="minutes")
    if isinstance(value, datetime.date | Decimal | int):
        return str(value)
    return neutralize(str(value))


class _Echo:
    """A file-like object that hands back what is written: csv.writer into a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(columns: list[SheetColumn], rows: Iterable, language: str) -> Iterator[str]:
    # Rows are read after the view has returned, while the response streams: labels are
    # translated in the reader's language all the same.
    with translation.override(language):
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow([neutralize(column.heading) for column in columns])
        for row in rows:
            yield writer.writerow([_cell_text(column.value(row)) for column in columns])


def _xlsx_file(title: str, columns: list[SheetColumn], rows: Iterable, language: str):
    output = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the response, which closes it)
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            # Text is text: never turn "1e5" or "http://…" into a number or a link.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    # Excel refuses a sheet name over 31 characters or with any of []:*?/\\.
    sheet = workbook.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", title)[:31])
    bold = workbook.add_format({"bold": True})
    as_date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    as_amount = workbook.add_format({"num_format": "#,##0.00"})
    as_quoted_text = workbook.add_format({"quote_prefix": True})
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
        sheet.write_string(0, index, column.heading, bold)
    sheet.freeze_panes(1, 0)
    with translation.override(language):
        for number, row in enumerate(rows, start=1):
            for index, column in enumerate(columns):
                value = column.value(row)
                if value is None or value == "":
                    continue
                if column.cell == Cell.NUMBER:
                    sheet.write_number(number, index, value, as_amount)
                elif column.cell == Cell.DATE:
                    sheet.write_datetime(number, index, value, as_date)
                else:
                    text = str(value)
                    if text.startswith(FORMULA_STARTS):
                        sheet.write_string(number, index, text, as_quoted_text)
                    else:
                        sheet.write_string(number, index, text)
    workbook.close()
    output.seek(0)
    return output


def download(
    request: HttpRequest,
    wanted: str,
    *,
    name: str,
    title: str,
    columns: list[Column],
    rows: QuerySet | Iterable,
) -> HttpResponse:
    """The rows, in the page table's `columns`, as a CSV or XLSX download named
    `name`-<date>.<format>. `columns` and `rows` may be lazy: a download found in the cache
    uses neither."""
    filename = f"{name}-{timezone.localdate().isoformat()}.{wanted}"
    key = f"download:{record_cache.record_key(request)}:{request.get_full_path()}"
    kept = cache.get(key)

    def sheet() -> tuple[list[SheetColumn], Iterator, str]:
        # A queryset is read in chunks; a list (the position grid's rows) is already in hand.
        return (
            [part for column in columns for part in _sheet_columns(column, request.user)],
            rows.iterator(chunk_size=CHUNK_ROWS) if isinstance(rows, QuerySet) else iter(rows),
            translation.get_language(),
        )

    if wanted == "csv":
        lines = _kept(key, _csv_lines(*sheet())) if kept is None else [kept]
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = FileResponse(
            _kept_file(key, _xlsx_file(title, *sheet())) if kept is None else io.BytesIO(kept),
            as_attachment=True,
            filename=filename,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    # What a reader may see is theirs: no shared cache keeps it.
    response["Cache-Control"] = "private, no-store"
    return response


def _kept(key: str, lines: Iterator[str]) -> Iterator[str]:
    """`lines`, streamed; once all are sent, kept in the cache under `key` if they come to
    `KEEP_UP_TO` characters at most. A download the client gave up on is not kept."""
    kept: list[str] | None = []
    size = 0
    for line in lines:
        yield line
        if kept is not None:
            size += len(line)
            kept.append(line)
            if size > KEEP_UP_TO:
                kept = None
    if kept is not None:
        cache.set(key, "".join(kept))


def _kept_file(key: str, written):
    """The `written` file, read back into the cache under `key` if it is `KEEP_UP_TO` bytes
    at most; either way ready to be read from its start."""
    if written.seek(0, io.SEEK_END) > KEEP_UP_TO:
        written.seek(0)
        return written
    written.seek(0)
    with written:
        content = written.read()
    cache.set(key, content)
    return io.BytesIO(content)


# From a page's columns to a sheet's -------------------------------------------------------


def _shown_name(record, user) -> str:
    shown = shown_to(record, user)
    return str(shown) if shown is not None else ""


def _precision_label(value: str) -> str:
    return str(DatePrecision(value or DatePrecision.DAY).label)


# Columns the page draws with a template: what they hold, as cells.
TEMPLATE_COLUMNS: dict[str, Callable[[], list[SheetColumn]]] = {
    "agreements/_transition.html": lambda: [
        SheetColumn(_("From"), lambda change: change.from_label),
        SheetColumn(_("To"), lambda change: change.to_label),
    ],
    "agreements/_subject.html": lambda: [
        SheetColumn(_("Kind of record"), lambda change: change.get_kind_display()),
        SheetColumn(_("Record"), lambda change: str(change.subject), width=40),
    ],
}


def _position(position) -> str:
    """A grid cell: "Reserves (scrutiny), 19 Nov 2012, version 2"."""
    if position is None:
        return ""
    return _("%(stance)s, %(date)s, version %(number)s") % {
        "stance": position.stance_label,
        "date": position.when,
        "number": position.version.number if position.version_id else "—",
    }


def _sheet_columns(column: Column, user) -> list[SheetColumn]:
    """The sheet's columns for one column of a page's table: a value typed as a spreadsheet
    wants it, and beside it what the page writes into the same cell (a currency, how
    precisely a date is known)."""
    heading, kind = str(column.heading), column.kind
    if kind in (Kind.NAME, Kind.TEXT, Kind.NOTE):
        return [SheetColumn(heading, column.value, width=40 if kind == Kind.NAME else 24)]
    if kind == Kind.STATUS:
        return [SheetColumn(heading, lambda row: row.get_status_display())]
    if kind == Kind.NUMBER:
        return [SheetColumn(heading, column.value, Cell.NUMBER, width=10)]
    if kind == Kind.MONEY:
        return [
            SheetColumn(heading, column.value, Cell.NUMBER, width=16),
            SheetColumn(_("Currency"), lambda row: column.value(row, column.currency), width=10),
        ]
    if kind == Kind.APPROXIMATE_DATE:
        precision = (lambda row: column.value(row, column.precision)) if column.precision else None
        dates = [SheetColumn(heading, column.value, Cell.DATE)]
        if precision is not None:
            dates.append(
                SheetColumn(
                    _("%(date)s, precision") % {"date": heading},
                    lambda row: _precision_label(precision(row)) if column.value(row) else "",
                )
            )
        return dates
    if kind in (Kind.RECORD, Kind.SOURCE):
        return [SheetColumn(heading, lambda row: _shown_name(column.value(row), user), width=30)]
    if kind == Kind.LEVEL:
        return [SheetColumn(heading, lambda row: row.level_label, width=16)]
    if kind == Kind.POSITION:
        return [SheetColumn(heading, lambda row: _position(column.value(row)), width=30)]
    if kind == Kind.TEMPLATE:
        return TEMPLATE_COLUMNS[column.template]()
    if kind == Kind.IDLE:
        return [SheetColumn(heading, lambda row: row.idle_reason, width=36)]
    raise ValueError(f"a column of unknown kind {kind!r}")
