"""Database constraints reject rows the forms would also reject (invariant 5 and friends)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agreements.models import Agreement, FundingSource, Milestone, Programme, Topic


def refused(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


@pytest.mark.django_db
def test_money_cannot_be_negative(record):
    assert refused(
        lambda: FundingSource.objects.create(
            programme=record.programme, title="Debt", amount=Decimal("-1")
        )
    )
    assert refused(
        lambda: Programme.objects.create(name="X", slug="x", estimated_cost=Decimal("-5"))
    )


@pytest.mark.django_db
def test_status_values_are_checked_by_the_database(record):
    assert refused(lambda: Topic.objects.create(title="T", slug="t", status="maybe"))
    assert refused(
        lambda: FundingSource.objects.create(
            programme=record.programme, title="Y", amount=1, status="hoped"
        )
    )


@pytest.mark.django_db
def test_slugs_are_unique(record):
    assert refused(lambda: Agreement.objects.create(title="Again", slug="exomars-cooperation"))


@pytest.mark.django_db
def test_visibility_values_are_checked(record):
    assert refused(lambda: Topic.objects.create(title="T", slug="t2", visibility="secret"))


def test_money_is_decimal(record):
    record.secured.refresh_from_db()
    assert isinstance(record.secured.amount, Decimal)


@pytest.mark.parametrize(
    ("day", "precision", "ok"),
    [
        (datetime.date(2013, 2, 1), "month", True),
        (datetime.date(2013, 2, 14), "month", False),
        (datetime.date(2022, 1, 1), "year", True),
        (datetime.date(2022, 6, 1), "year", False),
        (datetime.date(2012, 11, 19), "day", True),
    ],
)
def test_a_date_must_agree_with_its_precision(db, day, precision, ok):
    milestone = Milestone(title="M", happens_on=day, precision=precision)
    if ok:
        milestone.full_clean()
    else:
        with pytest.raises(ValidationError) as error:
            milestone.full_clean()
        assert "happens_on" in error.value.message_dict
