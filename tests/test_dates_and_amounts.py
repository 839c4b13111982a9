"""Approximate dates and amounts of money, written one way everywhere and in the reader's
language: `agreements.models.approximate_date` and `agreements.models.money`, which pages,
emails, feeds and the admin all call."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from agreements.models import DatePrecision, approximate_date, money

DAY = datetime.date(2012, 11, 19)
MONTH = datetime.date(2013, 2, 1)
YEAR = datetime.date(2016, 1, 1)


@pytest.mark.parametrize(
    ("language", "day", "month"),
    [
        ("en", "19 Nov 2012", "February 2013"),
        ("fr", "19 novembre 2012", "février 2013"),
        # The month of a day in the genitive, a month alone in the nominative.
        ("ru", "19 ноября 2012", "Февраль 2013"),
    ],
)
def test_a_date_is_written_as_precisely_as_it_is_known(language, day, month):
    with translation.override(language):
        assert approximate_date(DAY) == day
        assert approximate_date(DAY, DatePrecision.DAY) == day
        assert approximate_date(MONTH, DatePrecision.MONTH) == month
        assert approximate_date(YEAR, DatePrecision.YEAR) == "2016"
        assert approximate_date(None) == ""


def test_a_russian_month_alone_is_not_in_the_genitive():
    with translation.override("ru"):
        assert "февраля" not in approximate_date(MONTH, DatePrecision.MONTH)


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "EUR 1,200,000,000"),
        ("fr", "1\xa0200\xa0000\xa0000 EUR"),
        ("ru", "1\xa0200\xa0000\xa0000 EUR"),
    ],
)
def test_an_amount_is_grouped_and_placed_as_the_language_writes_it(language, written):
    with translation.override(language):
        assert money(Decimal("1200000000"), "EUR") == written


def test_cents_are_shown_only_when_there_are_some():
    with translation.override("en"):
        assert money(Decimal("1500.50"), "EUR") == "EUR 1,500.50"
        assert money(Decimal("1500.00"), "EUR") == "EUR 1,500"
        assert money(Decimal("1500")) == "1,500"
        assert money(None, "EUR") == ""


def test_a_french_reader_reads_french_dates_and_amounts(record, stakeholder, login):
    response = login(stakeholder).get("/programmes/exomars/", headers={"Accept-Language": "fr"})
    content = response.content.decode()
    assert "février 2013" in content  # the committee's decision, known to the month
    assert "50\xa0000\xa0000 EUR" in content
    assert "February 2013" not in content


def test_the_admin_writes_dates_as_the_pages_do(record, login, editor):
    content = login(editor).get("/admin/agreements/milestone/").content.decode()
    # The orbiter launch is known to the year; the day-precise internal deadline is a day.
    assert '<td class="field-when">2016</td>' in content
    assert '<td class="field-when">15 Jan 2013</td>' in content
