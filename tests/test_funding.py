"""Funding arithmetic: derived from the sources, in Decimal, never typed."""

from decimal import Decimal

from agreements.models import FundingBreakdown

MILLION = Decimal("1000000")


def test_it_adds_up_each_status_separately(record):
    funding = record.programme.funding()
    assert funding.secured == 30 * MILLION
    assert funding.potential == 50 * MILLION
    assert funding.expected == 10 * MILLION
    assert funding.contingent == 0
    assert funding.found == 90 * MILLION
    assert funding.uncovered_if_all_comes_through == 260 * MILLION
    assert funding.uncovered_counting_secured_only == 320 * MILLION
    assert all(isinstance(v, Decimal) for v in (funding.secured, funding.found))


def test_readers_totals_leave_out_internal_sources(record, stakeholder, editor):
    assert record.programme.funding(stakeholder).expected == 0
    assert record.programme.funding(stakeholder).found == 80 * MILLION
    assert record.programme.funding(editor).expected == 10 * MILLION


def test_uncovered_never_goes_below_zero():
    funding = FundingBreakdown(currency="EUR", in_question=Decimal(10), secured=Decimal(25))
    assert funding.uncovered_counting_secured_only == 0
    assert funding.share(funding.secured) == 100
