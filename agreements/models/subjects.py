"""What an event is about: one of several optional foreign keys, exactly one of them set.

A status change is about an agreement, a clause, a topic or a funding source; a position
about a clause or a topic. Explicit foreign keys rather than a generic relation, so that the
database PROTECTs a record with history from deletion and the visibility rule can join to
the subject's own visibility. The fields and the rule are written here once; each model
keeps its own reverse names (`status_changes`, `positions`), which is why this is a field
factory and not an abstract base (a shared `related_name` would have renamed them).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Q

from .base import shared, shared_or_absent


def subject_key(to: type[models.Model], *, related_name: str, verbose_name) -> models.ForeignKey:
    """One optional subject; a record that has events about it cannot be deleted."""
    return models.ForeignKey(
        to,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=verbose_name,
    )


def one_subject_constraint(
    name: str,
    subjects: list[str],
    *,
    kind_field: str | None = None,
    also: dict[str, dict] | None = None,
) -> models.CheckConstraint:
    """Exactly one of `subjects` is set; with `kind_field`, it is the one that field names;
    `also` adds conditions that hold when a given subject is the one set."""
    alternatives = []
    for chosen in subjects:
        condition = {f"{subject}__isnull": subject != chosen for subject in subjects}
        if kind_field:
            condition[kind_field] = chosen
        condition.update((also or {}).get(chosen, {}))
        alternatives.append(Q(**condition))
    return models.CheckConstraint(condition=reduce(or_, alternatives), name=name)


def clause_or_topic_shared() -> Q:
    """An event's clause (if any) and its agreement, and its topic (if any), are shared."""
    return (
        Q(clause__isnull=True) | (shared("clause__") & shared("clause__agreement__"))
    ) & shared_or_absent("topic")
