"""The negotiation record: who negotiates, what is agreed, what it costs, what was said.

One module per concept, each re-exported here so that code imports from `agreements.models`:

- `base`: the visibility rule every read starts from (`objects.visible_to(user)`) and the
  status records whose `status` only `agreements.services.change_status` writes;
- `dates`: approximate dates (a date plus its precision);
- `record`: parties, people, sources, programmes and their funding;
- `negotiation`: agreements and their clauses, topics, milestones and statements;
- `history`: the append-only status history and the record's version for cached pages;
- `digests`: subscriptions and the digest ledger.
"""

from .base import (
    READER_PERMISSION,
    StatusQuerySet,
    StatusRecord,
    StatusWriteRefused,
    Visibility,
    VisibleQuerySet,
    VisibleRecord,
    can_read,
    reader_permission,
    shared,
    shared_or_absent,
    status_constraint,
    visibility_constraint,
)
from .dates import (
    DatePrecision,
    check_date_precision,
    date_precision_end,
)
from .digests import (
    DeliveryStatus,
    DigestDelivery,
    DigestItem,
    Subscription,
    SubscriptionFrequency,
    new_feed_token,
)
from .history import (
    ChangeKind,
    HistoryIsAppendOnly,
    RecordVersion,
    StatusChange,
    StatusChangeQuerySet,
)
from .negotiation import (
    Agreement,
    AgreementQuerySet,
    AgreementStatus,
    Clause,
    ClauseQuerySet,
    ClauseStatus,
    Milestone,
    MilestoneKind,
    MilestoneQuerySet,
    Statement,
    StatementQuerySet,
    Topic,
    TopicStatus,
)
from .record import (
    ZERO,
    FundingBreakdown,
    FundingSource,
    FundingSourceQuerySet,
    FundingStatus,
    Party,
    PartyKind,
    Person,
    Programme,
    ProgrammeQuerySet,
    Source,
    SourceKind,
)

__all__ = [
    "READER_PERMISSION",
    "ZERO",
    "Agreement",
    "AgreementQuerySet",
    "AgreementStatus",
    "ChangeKind",
    "Clause",
    "ClauseQuerySet",
    "ClauseStatus",
    "DatePrecision",
    "DeliveryStatus",
    "DigestDelivery",
    "DigestItem",
    "FundingBreakdown",
    "FundingSource",
    "FundingSourceQuerySet",
    "FundingStatus",
    "HistoryIsAppendOnly",
    "Milestone",
    "MilestoneKind",
    "MilestoneQuerySet",
    "Party",
    "PartyKind",
    "Person",
    "Programme",
    "ProgrammeQuerySet",
    "RecordVersion",
    "Source",
    "SourceKind",
    "Statement",
    "StatementQuerySet",
    "StatusChange",
    "StatusChangeQuerySet",
    "StatusQuerySet",
    "StatusRecord",
    "StatusWriteRefused",
    "Subscription",
    "SubscriptionFrequency",
    "Topic",
    "TopicStatus",
    "Visibility",
    "VisibleQuerySet",
    "VisibleRecord",
    "can_read",
    "check_date_precision",
    "date_precision_end",
    "new_feed_token",
    "reader_permission",
    "shared",
    "shared_or_absent",
    "status_constraint",
    "visibility_constraint",
]
