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


# How the gap is said ----------------------------------------------------------------------

THE_GAP = (
    "Still uncovered: <strong>EUR 320 million</strong> counting only secured money · "
    "<strong>EUR 270 million</strong> if every pledge comes through "
    "(of EUR 350 million in question)."
)


@pytest.mark.parametrize(
    "page", ["/", "/agreements/exomars-cooperation/", "/programmes/exomars/", "/briefing/"]
)
def test_the_gap_is_said_conservative_figure_first_in_words(record, stakeholder, login, page):
    content = " ".join(login(stakeholder).get(page).text.split())
    assert THE_GAP in content
    assert "Counting only secured money:" not in content


def test_the_bar_brackets_the_gap_left_by_secured_money_alone(record, stakeholder, login):
    content = login(stakeholder).get("/programmes/exomars/").text
    # Secured: EUR 30 million of 350, so 8.6 % of the bar; the bracket runs from there.
    assert '<path d="M 87.5 44 V 54 H 998.5 V 44">' in content


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("230000000", "EUR 230 million"),
        ("1200000000", "EUR 1.2 billion"),
        ("1000000", "EUR 1 million"),
        ("60500000", "EUR 60.5 million"),
        ("60250000", "EUR 60,250,000"),
        ("900000", "EUR 900,000"),
    ],
)
def test_round_amounts_are_said_in_words(amount, said):
    from agreements.models import money_in_words

    assert money_in_words(Decimal(amount), "EUR") == said
