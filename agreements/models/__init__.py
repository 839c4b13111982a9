"""The negotiation record: who negotiates, what is agreed, what it costs, what was said.

One module per concept, each re-exported here so that code imports from `agreements.models`:

- `base`: the visibility rule every read starts from (`objects.visible_to(user)`) and the
  status records whose `status` only `agreements.services.change_status` writes;
- `dates`: approximate dates (a date plus its precision) and the one way to write them;
- `record`: parties, people, sources, programmes and their funding;
- `negotiation`: agreements and their clauses, topics, milestones and statements;
- `history`: the append-only status history and the record's version for cached pages;
- `digests`: subscriptions and the digest ledger;
- `tokens`: personal API tokens, stored hashed;
- `audit`: the audit trail, an event for every write to a record table (django-pghistory).
- `sessions`: login sessions that name their user in a column, loaded with it in one query.
"""

from .base import (
    READER_PERMISSION,
    ReaderUnknown,
    StatusQuerySet,
    StatusRecord,
    StatusWriteRefused,
    Visibility,
    VisibleQuerySet,
    VisibleRecord,
    aggregate_per_row,
    can_read,
    reader_permission,
    shared,
    shared_or_absent,
    shown_to,
    status_constraint,
    visibility_constraint,
)
from .dates import (
    EARLIEST_DATE,
    LATEST_DATE,
    DatePrecision,
    approximate_date,
    check_date_precision,
    date_precision_end,
    validate_record_date,
)
from .digests import (
    DeliveryStatus,
    DigestDelivery,
    DigestItem,
    Subscription,
    SubscriptionFrequency,
    feed_token_digest,
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
    PartyNamesQuerySet,
    Statement,
    StatementQuerySet,
    Topic,
    TopicQuerySet,
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
    funding_columns,
    money,
    web_link,
)
from .sessions import ReaderSession
from .tokens import ApiToken, hash_token, new_token_secret

from .audit import EVENT_MODELS, AuditEvent, audited  # isort: skip (after what it tracks)

__all__ = [
    "EARLIEST_DATE",
    "EVENT_MODELS",
    "LATEST_DATE",
    "READER_PERMISSION",
    "ZERO",
    "Agreement",
    "AgreementQuerySet",
    "AgreementStatus",
    "ApiToken",
    "AuditEvent",
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
    "PartyNamesQuerySet",
    "Person",
    "Programme",
    "ProgrammeQuerySet",
    "ReaderSession",
    "ReaderUnknown",
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
    "TopicQuerySet",
    "TopicStatus",
    "Visibility",
    "VisibleQuerySet",
    "VisibleRecord",
    "aggregate_per_row",
    "approximate_date",
    "audited",
    "can_read",
    "check_date_precision",
    "date_precision_end",
    "feed_token_digest",
    "funding_columns",
    "hash_token",
    "money",
    "new_feed_token",
    "new_token_secret",
    "reader_permission",
    "shared",
    "shared_or_absent",
    "shown_to",
    "status_constraint",
    "validate_record_date",
    "visibility_constraint",
    "web_link",
]
