"""Each agreement's status in one line, in the manner of GovTrack's "last action":
"Draft approved 19 Nov 2012 · 0 of 3 clauses signed · next: Science Programme Committee
decision on EUR 50 million, February 2013".

The line is read from the rows of `Agreement.objects.visible_to(user).with_clause_counts()
.with_last_status_change()`, plus one query for the next milestones of all the agreements
shown (their own and their programmes'), so a page of agreements asks the same number of
times whatever its length. "Next" is the first milestone not yet over on `clock.today()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from .models import Agreement, Clause, Milestone


@dataclass(frozen=True)
class StatusLine:
    agreement: Agreement
    next_milestone: Milestone | None

    @property
    def status_on(self):
        return getattr(self.agreement, "last_status_on", None)

    @property
    def signed(self) -> int:
        return getattr(self.agreement, f"clauses_{Clause.Status.SIGNED}")

    @property
    def clauses(self) -> int:
        return self.agreement.clause_total


def attach_status_lines(agreements: Iterable[Agreement], user) -> None:
    """Give each agreement its `status_line`: one query, for the next milestones."""
    agreements = list(agreements)
    if not agreements:
        return
    ids = {agreement.pk for agreement in agreements}
    programme_ids = {agreement.programme_id for agreement in agreements if agreement.programme_id}
    coming = (
        Milestone.objects.visible_to(user)
        .upcoming()
        .filter(Q(agreement__in=ids) | Q(programme__in=programme_ids))
    )
    first_by_agreement: dict[int, Milestone] = {}
    first_by_programme: dict[int, Milestone] = {}
    # In date order: the first one seen for an agreement or a programme is its next.
    for milestone in coming.only(
        "pk", "title", "kind", "happens_on", "precision", "agreement_id", "programme_id"
    ):
        if milestone.agreement_id:
            first_by_agreement.setdefault(milestone.agreement_id, milestone)
        if milestone.programme_id:
            first_by_programme.setdefault(milestone.programme_id, milestone)
    for agreement in agreements:
        candidates = [
            first_by_agreement.get(agreement.pk),
            first_by_programme.get(agreement.programme_id),
        ]
        candidates = [milestone for milestone in candidates if milestone is not None]
        next_milestone = min(candidates, key=lambda m: (m.happens_on, m.title), default=None)
        agreement.status_line = StatusLine(agreement, next_milestone)
