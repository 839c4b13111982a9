"""Spreadsheet downloads: what the page shows with its filters, typed, safe to open, and
written in a fixed amount of memory however long the list."""

from __future__ import annotations

import csv
import datetime
import io
import tracemalloc
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from agreements import exports, services
from agreements.exports import neutralize
from agreements.models import Clause, Topic, Visibility

EXPORTS = {
    "agreements": "/agreements/",
    "topics": "/topics/",
    "clauses": "/agreements/exomars-cooperation/",
    "funding": "/programmes/exomars/",
    "timeline": "/timeline/",
}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(client, path: str, **query) -> list[dict]:
    response = client.get(path, {**query, "format": "csv"})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(client, path: str, **query) -> list[dict]:
    response = client.get(path, {**query, "format": "xlsx"})
    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def reader(login, stakeholder):
    return login(stakeholder)


@pytest.mark.parametrize("rows_of", [csv_rows, xlsx_rows], ids=["csv", "xlsx"])
def test_a_download_holds_the_filtered_rows_the_reader_may_see(reader, record, editor, rows_of):
    services.change_status(record.second_clause, to="pending", by=editor)

    agreements = rows_of(reader, EXPORTS["agreements"])
    assert [row["Agreement"] for row in agreements] == ["ExoMars cooperation"]
    assert agreements[0]["Parties"] == "ESA, Roscosmos"

    assert [row["Topic"] for row in rows_of(reader, EXPORTS["topics"], status="proposed")] == [
        "Juice cooperation"
    ]
    assert rows_of(reader, EXPORTS["topics"], q="nothing like this") == []

    clauses = rows_of(reader, EXPORTS["clauses"], clause_status="pending")
    assert [(row["Ref."], row["Status"]) for row in clauses] == [("2", "Pending signature")]
    every_clause = [row["Clause"] for row in rows_of(reader, EXPORTS["clauses"])]
    assert every_clause == ["Proton launchers", "Orbiter instruments"]  # not the internal one

    funding = rows_of(reader, EXPORTS["funding"])
    assert {row["Funding source"] for row in funding} == {"Italy", "Science Programme Committee"}

    timeline = rows_of(reader, EXPORTS["timeline"], kind="clause", since="2012-01-01")
    subjects = {row["Record"] for row in timeline}
    assert any("Orbiter instruments" in subject for subject in subjects)
    assert not any("Fallback" in subject or "Cost sharing" in subject for subject in subjects)


def test_staff_downloads_include_internal_rows(login, record, editor):
    clauses = csv_rows(login(editor), EXPORTS["clauses"])
    assert "Fallback position on landing module" in {row["Clause"] for row in clauses}
    funding = csv_rows(login(editor), EXPORTS["funding"])
    assert "Reserve we do not talk about" in {row["Funding source"] for row in funding}


def test_amounts_are_numbers_and_dates_are_dates_with_their_precision(reader, record):
    by_title = {row["Funding source"]: row for row in xlsx_rows(reader, EXPORTS["funding"])}
    committee = by_title["Science Programme Committee"]
    assert committee["Amount"] == 50_000_000 and isinstance(committee["Amount"], float | int)
    assert committee["Decision expected"] == datetime.datetime(2013, 2, 1)
    assert committee["Decision expected, precision"] == "Month"
    assert by_title["Italy"]["Decision expected"] is None

    as_csv = {row["Funding source"]: row for row in csv_rows(reader, EXPORTS["funding"])}
    assert Decimal(as_csv["Italy"]["Amount"]) == Decimal("30000000")
    assert as_csv["Science Programme Committee"]["Decision expected"] == "2013-02-01"

    change = xlsx_rows(reader, EXPORTS["timeline"])[0]
    assert change["Effective"] == datetime.datetime(2012, 11, 19)


@pytest.mark.parametrize(
    "dangerous", ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"]
)
def test_text_is_never_run_as_a_formula(reader, record, editor, dangerous):
    topic = Topic(title=dangerous + " topic", slug="danger", next_step=dangerous)
    services.record_creation(topic, by=editor)

    row = next(r for r in csv_rows(reader, EXPORTS["topics"]) if r["Topic"].endswith(" topic"))
    assert row["Topic"] == "'" + dangerous + " topic"
    assert row["Next step"] == "'" + dangerous

    response = reader.get(EXPORTS["topics"], {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    cells = next(row for row in sheet.iter_rows() if str(row[0].value).endswith(" topic"))
    # XlsxWriter stores a carriage return as _x000D_, which Excel reads back; openpyxl does not.
    assert cells[0].data_type == "s"
    assert cells[0].value.replace("_x000D_", "\r") == dangerous + " topic"
    assert cells[0].quotePrefix  # shown as typed, never evaluated, even when edited


def test_plain_text_is_left_alone():
    assert neutralize("Proton launchers") == "Proton launchers"
    assert neutralize("1 = 1") == "1 = 1"


def test_an_unknown_format_is_a_400(reader, record):
    for path in EXPORTS.values():
        assert reader.get(path, {"format": "pdf"}).status_code == 400


def test_the_pages_link_to_their_downloads_with_their_filters(reader, record):
    page = reader.get("/agreements/", {"status": "draft", "q": "ExoMars"}).text
    assert 'href="/agreements/?status=draft&amp;q=ExoMars&amp;format=csv"' in page
    assert 'href="/agreements/?status=draft&amp;q=ExoMars&amp;format=xlsx"' in page
    for path in EXPORTS.values():
        assert "format=xlsx" in reader.get(path).text, path


def test_outsiders_and_anonymous_get_no_download(client, login, outsider, record):
    assert client.get("/agreements/", {"format": "csv"}).status_code == 302
    assert login(outsider).get("/timeline/", {"format": "xlsx"}).status_code == 403


def test_a_download_costs_the_same_queries_with_3_or_300_rows(reader, record):
    from tests.test_query_counts import grow

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = reader.get(path, {"format": "csv"})
            body(response)
        return len([q for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    reader.get("/")  # the session's idle timeout is pushed back once, here
    grow(record, 3)
    few = {path: queries(path) for path in EXPORTS.values()}
    grow(record, 297)
    assert {path: queries(path) for path in EXPORTS.values()} == few


# Kept until the record changes ------------------------------------------------------------


def written(content: bytes, wanted: str) -> bytes | dict[str, bytes]:
    """What a download says: an XLSX file's parts but the one that records when it was
    written (docProps/core.xml, to the second), so that two writings a second apart match."""
    if wanted == "csv":
        return content
    with zipfile.ZipFile(io.BytesIO(content)) as parts:
        return {name: parts.read(name) for name in parts.namelist() if name != "docProps/core.xml"}


def clause_list_reads(client, path: str, wanted: str) -> tuple[bytes, int]:
    """The download's content, and how many of its queries read the clause list."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, {"format": wanted})
        content = body(response)
    assert response.status_code == 200
    return content, len([q for q in captured if q["sql"].startswith('SELECT "agreements_clause"')])


@pytest.mark.parametrize("wanted", ["csv", "xlsx"])
def test_a_download_asked_again_before_a_change_is_kept(reader, record, editor, wanted):
    first, read = clause_list_reads(reader, EXPORTS["clauses"], wanted)
    again, read_again = clause_list_reads(reader, EXPORTS["clauses"], wanted)
    assert (read, read_again) == (1, 0)
    assert again == first

    services.change_status(record.second_clause, to="pending", by=editor)
    changed, read_after_the_change = clause_list_reads(reader, EXPORTS["clauses"], wanted)
    assert read_after_the_change == 1
    assert written(changed, wanted) != written(first, wanted)
    rows = xlsx_rows if wanted == "xlsx" else csv_rows
    assert ("2", "Pending signature") in [
        (r["Ref."], r["Status"]) for r in rows(reader, EXPORTS["clauses"])
    ]


def test_staff_and_readers_each_get_their_own_kept_download(login, record, editor, stakeholder):
    internal = "Fallback position on landing module"
    for _ in range(2):
        assert internal in {row["Clause"] for row in csv_rows(login(editor), EXPORTS["clauses"])}
        assert internal not in {
            row["Clause"] for row in csv_rows(login(stakeholder), EXPORTS["clauses"])
        }


def test_a_download_is_kept_per_language(login, stakeholder, record):
    reader = login(stakeholder)
    # The middleware activates the reader's language in this thread: put it back after.
    with translation.override(None):
        sheets = {
            language: body(
                reader.get(EXPORTS["clauses"], {"format": "csv"}, HTTP_ACCEPT_LANGUAGE=language)
            ).decode("utf-8-sig")
            for language in ["en", "fr", "en"]
        }
    assert sheets["en"].startswith("Ref.,")
    assert sheets["fr"].startswith("Réf.,")


@pytest.mark.parametrize("wanted", ["csv", "xlsx"])
def test_a_download_longer_than_what_is_kept_is_written_each_time(
    reader, record, monkeypatch, wanted
):
    monkeypatch.setattr(exports, "KEEP_UP_TO", 100)
    first, read = clause_list_reads(reader, EXPORTS["clauses"], wanted)
    again, read_again = clause_list_reads(reader, EXPORTS["clauses"], wanted)
    assert len(first) > 100
    assert (read, read_again) == (1, 1)
    assert written(again, wanted) == written(first, wanted)


# A large download in a fixed amount of memory ----------------------------------------------

MEMORY_CEILING = 8 * 1024 * 1024  # bytes; 20,000 clauses held at once take several times more


@pytest.fixture
def twenty_thousand_clauses(record):
    Clause.objects.bulk_create(
        Clause(
            agreement=record.agreement,
            reference=f"X{number}",
            position=100 + number,
            title=f"Clause number {number} of the large agreement",
            text="Roscosmos supplies launchers and instruments; ESA helps. " * 4,
            obligated_party=record.roscosmos,
            visibility=Visibility.SHARED,
        )
        for number in range(20_000)
    )


@pytest.mark.parametrize("wanted", ["csv", "xlsx"])
def test_a_20000_row_download_stays_within_a_fixed_memory_ceiling(
    reader, twenty_thousand_clauses, wanted
):
    size = 0
    tracemalloc.start()
    try:
        response = reader.get(EXPORTS["clauses"], {"format": wanted})
        for chunk in response.streaming_content:
            size += len(chunk)  # read as a client would, and let go
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert size > {"csv": 1_000_000, "xlsx": 200_000}[wanted]  # the 20,000 rows are there
    print(f"{wanted}: {size / 1e6:.1f} MB written, peak {peak / 1e6:.1f} MB")
    assert peak < MEMORY_CEILING, f"peak {peak / 1e6:.1f} MB"
