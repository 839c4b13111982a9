"""Approximate dates: a date plus how precisely it is known ("February 2013", "2022")."""

from __future__ import annotations

import calendar
import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


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
