"""Funding arithmetic: derived from the sources, in Decimal, never typed."""

from decimal import Decimal

import pytest

from agreements.models import Agreement, FundingBreakdown, Programme, ReaderUnknown

MILLION = Decimal("1000000")


def funding_seen_by(user, record):
    return Programme.objects.visible_to(user).with_funding().get(pk=record.programme.pk).funding


def test_it_adds_up_each_status_separately(record, superuser):
    funding = funding_seen_by(superuser, record)
    assert funding.secured == 30 * MILLION
    assert funding.potential == 50 * MILLION
    assert funding.expected == 10 * MILLION
    assert funding.contingent == 0
    assert funding.found == 90 * MILLION
    assert funding.uncovered_if_all_comes_through == 260 * MILLION
    assert funding.uncovered_counting_secured_only == 320 * MILLION
    assert all(isinstance(v, Decimal) for v in (funding.secured, funding.found))


def test_readers_totals_leave_out_internal_sources(record, stakeholder, editor):
    assert funding_seen_by(stakeholder, record).expected == 0
    assert funding_seen_by(stakeholder, record).found == 80 * MILLION
    assert funding_seen_by(editor, record).expected == 10 * MILLION


def test_uncovered_never_goes_below_zero():
    funding = FundingBreakdown(currency="EUR", in_question=Decimal(10), secured=Decimal(25))
    assert funding.uncovered_counting_secured_only == 0
    assert funding.share(funding.secured) == 100


def test_totals_count_for_the_reader_the_rows_were_read_for(record):
    # Without `visible_to(user)` nobody says whose totals they are: refused, not everyone's.
    with pytest.raises(ReaderUnknown):
        Programme.objects.with_funding()
    with pytest.raises(ReaderUnknown):
        Agreement.objects.filter(pk=record.agreement.pk).with_clause_counts()


def test_an_agreement_carries_its_programmes_totals(record, stakeholder):
    agreement = (
        Agreement.objects.visible_to(stakeholder)
        .with_programme_funding()
        .get(slug="exomars-cooperation")
    )
    assert agreement.programme_funding == funding_seen_by(stakeholder, record)
