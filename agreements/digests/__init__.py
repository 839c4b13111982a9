"""Email digests for managers: planning them into the ledger, and sending them.

The ledger (DESIGN.md, "Digests: the ledger"):

- A change, a new statement, a new clause version or a position is *in* a digest when a
  `DigestItem(subscription, change)` (or `statement`, `version`, `position`) row says so;
  each pair is unique, so each lands in exactly one digest of each subscription. Nothing
  here uses "id greater than the last one sent" or a timestamp watermark: a slow
  transaction commits an older id or timestamp after a watermark has moved past it, and
  that change would be lost for good. Instead, planning attaches every visible, followed
  record that has no item yet, whenever it committed.
- Planning is one transaction per subscription: claim it with a conditional UPDATE of
  `next_due_at` (healthchecks' optimistic lock; a concurrent planner's UPDATE waits for our
  row lock, then matches nothing), insert the `DigestDelivery` (unique on subscription and
  period start), attach the items, render and store subject and bodies.
- Sending claims one pending delivery at a time (`SELECT ... FOR UPDATE SKIP LOCKED` where
  the database has it, and a conditional UPDATE of the status everywhere), sends it with
  the Message-ID it was planned with, and marks it `sent` only once the mail server has
  accepted it. See `send_delivery` for the one crash window.

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
    DigestContent,
    Follows,
    collect,
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
    plan_digest,
    plan_due_digests,
    preview_digest,
)
from .schedule import local_zone, next_due_after, reschedule, schedule_subscriptions
from .sending import (
    MAX_ATTEMPTS,
    SENDING_LEASE,
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
    "UNSUBSCRIBE_MAX_AGE",
    "UNSUBSCRIBE_SALT",
    "UPCOMING_HORIZON",
    "BadUnsubscribeToken",
    "DigestContent",
    "DigestResult",
    "FollowState",
    "Follows",
    "Outcome",
    "claim_next_delivery",
    "collect",
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
