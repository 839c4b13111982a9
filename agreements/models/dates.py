"""Approximate dates: a date plus how precisely it is known ("February 2013", "2022").

`approximate_date` is the one way such a date is written, on pages (the `approximate_date`
template filter), in emails, feeds, calendars and the admin. It is localized through
Django's format settings, which the project adjusts per language in
`exomars_site/formats/`: "19 Nov 2012", "February 2013" in English; "19 novembre 2012",
"février 2013" in French; "19 ноября 2012", "Февраль 2013" in Russian, where a month alone
takes the nominative and a day's month the genitive.
"""

from __future__ import annotations

import calendar
import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats
from django.utils.translation import gettext_lazy as _

# The dates a negotiation's record holds fall well within these. Anything outside is a typo
# (9999 for 1999), and date arithmetic on it overflowed: a calendar event ends the day after.
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2200, 12, 31)


def validate_record_date(value: datetime.date | None) -> None:
    """For every date an editor types: within EARLIEST_DATE and LATEST_DATE."""
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _("Enter a date between %(earliest)s and %(latest)s."),
            code="date_out_of_range",
            params={"earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year},
        )


class DatePrecision(models.TextChoices):
    DAY = "day", _("Exact day")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


def check_date_precision(value: datetime.date | None, precision: str, field: str) -> None:
    """A month-precise date is stored as the 1st; a year-precise one as 1 January."""
    if value is None:
        return
    if precision == DatePrecision.MONTH and value.day != 1:
        raise ValidationError(
            {field: _("A date known to the month must be the first day of that month.")}
        )
    if precision == DatePrecision.YEAR and (value.month, value.day) != (1, 1):
        raise ValidationError({field: _("A date known to the year must be 1 January.")})


def date_precision_end(value: datetime.date, precision: str) -> datetime.date:
    """The last day an approximate date may stand for (31 Dec for "2022")."""
    if precision == DatePrecision.YEAR:
        return datetime.date(value.year, 12, 31)
    if precision == DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


def approximate_date(value: datetime.date | None, precision: str = DatePrecision.DAY) -> str:
    """A date written as precisely as it is known, in the current language: a day as the
    language's DATE_FORMAT, a month as its YEAR_MONTH_FORMAT, a year as the year."""
    if value is None:
        return ""
    if precision == DatePrecision.YEAR:
        return formats.date_format(value, "Y")
    if precision == DatePrecision.MONTH:
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    return formats.date_format(value, "DATE_FORMAT")


def precision_constraint(name: str) -> models.CheckConstraint:
    """A date's precision is one of DatePrecision's, in the database too."""
    return models.CheckConstraint(
        condition=models.Q(precision__in=DatePrecision.values), name=f"{name}_precision_valid"
    )
