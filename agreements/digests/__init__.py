"""Email digests for managers: planning them into the ledger, and sending them.

The ledger (DESIGN.md, "Digests: the ledger"):

- A change, a new statement, a new clause version or a position is *in* a digest when a
  `DigestItem(subscription, change)` (or `statement`, `version`, `position`) row says so;
  each pair is unique, so each lands in exactly one digest of each subscription. Nothing
  here uses "id greater than the last one sent" or a timestamp watermark: a slow
  transaction commits an older id or timestamp after a watermark has moved past it, and
  that change would be lost for good. Instead, planning attaches every visible, followed
  record that has no item yet, whenever it committed.
- Planning is one transaction per batch of due subscriptions (`plan_batch`): claim them
  with `SELECT ... FOR UPDATE SKIP LOCKED` of the rows still due (a concurrent planner
  skips them, or finds them moved on), read what each digest holds with set-based queries
  over the batch (`content.collect_batch`: one function per source, each at most one query
  per audience), insert the `DigestDelivery` rows (unique on subscription and period start)
  and their items in bulk, and move each `next_due_at` on with a conditional UPDATE under
  the lock (healthchecks' optimistic lock). A digest that cannot be rendered fails alone;
  a batch that fails as a whole is planned again one subscription at a time.
- Sending claims a batch of pending deliveries (`SELECT ... FOR UPDATE SKIP LOCKED` where
  the database has it, and a conditional UPDATE of the status everywhere), checks them
  together against what their recipients may still see, sends each with the Message-ID it
  was planned with, and marks each `sent` only once the mail server has accepted it. See
  `send_checked` for the one crash window.

Everything is a plain function that the `send_digests` command, the admin, the pages and
the tests call; `now` is always a parameter so that tests and `--now` are deterministic.

The package, by step: `schedule` (when a digest is due), `content` (what goes in),
`wording` (how it reads), `planning` (into the ledger), `sending` (out to the mail server),
`unsubscribe` (one-click tokens). Callers import the public names from here.
"""

from .content import (
    MAX_LISTED_CHANGES,
    MAX_LISTED_STATEMENTS,
    OPEN_FUNDING_STATUSES,
    UPCOMING_HORIZON,
    DigestBatch,
    DigestContent,
    Follows,
    collect,
    collect_batch,
    funding_detail,
    pending_changes,
    pending_statements,
)
from .following import (
    FollowState,
    follow,
    follow_only,
    follow_state,
    follow_state_columns,
    stop_following,
)
from .planning import (
    DigestResult,
    Outcome,
    due_subscriptions,
    period_start_for,
    plan_batch,
    plan_digest,
    plan_due_digests,
    preview_digest,
)
from .schedule import local_zone, next_due_after, reschedule, schedule_subscriptions
from .sending import (
    MAX_ATTEMPTS,
    SEND_BATCH_SIZE,
    SENDING_LEASE,
    claim_deliveries,
    claim_next_delivery,
    delivery_message,
    send_delivery,
    send_pending_digests,
)
from .unsubscribe import (
    UNSUBSCRIBE_MAX_AGE,
    UNSUBSCRIBE_SALT,
    BadUnsubscribeToken,
    subscription_for_unsubscribe_token,
    turn_off,
    unsubscribe_token,
    unsubscribe_url,
)
from .wording import digest_name, email_locale, render_digest, summarize

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_LISTED_CHANGES",
    "MAX_LISTED_STATEMENTS",
    "OPEN_FUNDING_STATUSES",
    "SENDING_LEASE",
    "SEND_BATCH_SIZE",
    "UNSUBSCRIBE_MAX_AGE",
    "UNSUBSCRIBE_SALT",
    "UPCOMING_HORIZON",
    "BadUnsubscribeToken",
    "DigestBatch",
    "DigestContent",
    "DigestResult",
    "FollowState",
    "Follows",
    "Outcome",
    "claim_deliveries",
    "claim_next_delivery",
    "collect",
    "collect_batch",
    "delivery_message",
    "digest_name",
    "due_subscriptions",
    "email_locale",
    "follow",
    "follow_only",
    "follow_state",
    "follow_state_columns",
    "funding_detail",
    "local_zone",
    "next_due_after",
    "pending_changes",
    "pending_statements",
    "period_start_for",
    "plan_batch",
    "plan_digest",
    "plan_due_digests",
    "preview_digest",
    "render_digest",
    "reschedule",
    "schedule_subscriptions",
    "send_delivery",
    "send_pending_digests",
    "stop_following",
    "subscription_for_unsubscribe_token",
    "summarize",
    "turn_off",
    "unsubscribe_token",
    "unsubscribe_url",
]
