"""Digest throughput: plan and send N subscriptions' digests over M changes, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python bench/digests.py [--subscriptions 10000] [--changes 100000] [--quick]

It creates a throw-away database on DATABASE_URL's server (and drops it at the end),
generates the record with `bulk_create`, then, at two sizes (a tenth of the asked size and
the asked size, to show the per-digest figures stay flat):

- plans every digest and sends it to an in-memory mailer that serialises each message as
  SMTP would and keeps nothing: digests per second, SQL queries per digest;
- does it again for the first 500 from the same state with tracemalloc on: peak Python
  memory (tracemalloc slows Python two to three times; see `measure`);
- the floor: rendering and sending the same messages from contexts already in memory, with
  no database work at all.

Progress goes to stderr; the figures are printed as one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import secrets
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
FLOOR_SAMPLE = 500  # contexts kept for the floor: enough for a stable rate
MEMORY_SAMPLE = 500  # digests planned and sent under tracemalloc
SEED = 2012
HISTORY_SECONDS = 3 * 365 * 86400


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument(
        "--quick", action="store_true", help="200 subscriptions, 2,000 changes (CI, a smoke run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.subscriptions, args.changes = 200, 2_000
    if args.subscriptions < 50 or args.changes < 500:
        parser.error("use at least 50 subscriptions and 500 changes")
    return args


# The throw-away database -------------------------------------------------------------------


def maintenance(server: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(server)
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(sql)


def setup_django(server: str, name: str) -> None:
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exomars_site.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ["LOG_LEVEL"] = "WARNING"  # one log line per digest would be the benchmark
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The same code path as production, minus the network.
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.SerializingMailer"}}


class SerializingMailer:
    """Turns each message into bytes, as the SMTP backend does, counts them, keeps nothing."""

    sent = 0
    sent_bytes = 0

    def __init__(self, alias=None, **options):
        self.alias = alias

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        for message in messages:
            type(self).sent_bytes += len(message.message().as_bytes())
            type(self).sent += 1
        return len(messages)


# The record --------------------------------------------------------------------------------


def generate(subscriptions: int, changes: int, rng: random.Random) -> dict:
    """A negotiation record with a history of `changes` status changes over three years, and
    `subscriptions` managers who subscribed a week ago, most following a few agreements.

    Only the last week of history is new to the subscriptions (a new subscription does not
    receive the past), so each digest holds what a real one would (a handful of changes;
    a few hundred for those who follow everything) while every query runs against the whole
    history: what must not slow down as it grows.
    """
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from agreements.models import (
        Agreement,
        Clause,
        FundingSource,
        Milestone,
        Party,
        Person,
        Programme,
        Source,
        Statement,
        StatusChange,
        Subscription,
        Topic,
        Visibility,
    )

    now = timezone.now()
    today = timezone.localdate()

    def visibility() -> str:
        return Visibility.INTERNAL if rng.random() < 0.03 else Visibility.SHARED

    editor = User.objects.create_user("bench-editor", "editor@example.org", is_staff=True)
    parties = Party.objects.bulk_create(
        [Party(name=f"Party {n}", slug=f"party-{n}") for n in range(10)]
    )
    sources = Source.objects.bulk_create(
        [Source(title=f"Report {n}", publisher="Wire", visibility=visibility()) for n in range(50)]
    )
    people = Person.objects.bulk_create(
        [Person(name=f"Speaker {n}", party=rng.choice(parties)) for n in range(20)]
    )
    agreement_count = max(10, changes // 100)  # about 100 changes per agreement
    programmes = Programme.objects.bulk_create(
        [
            Programme(name=f"Programme {n}", slug=f"programme-{n}", estimated_cost=10**9)
            for n in range(max(2, agreement_count // 10))
        ]
    )
    agreements = Agreement.objects.bulk_create(
        [
            Agreement(
                title=f"Agreement {n}",
                slug=f"agreement-{n}",
                programme=rng.choice(programmes),
                visibility=visibility(),
            )
            for n in range(agreement_count)
        ],
        batch_size=2000,
    )
    clauses = Clause.objects.bulk_create(
        [
            Clause(
                agreement=agreement,
                reference=str(n),
                position=n,
                title=f"Clause {n}",
                visibility=visibility(),
            )
            for agreement in agreements
            for n in range(1, 6)
        ],
        batch_size=2000,
    )
    topics = Topic.objects.bulk_create(
        [
            Topic(title=f"Topic {n}", slug=f"topic-{n}", visibility=visibility())
            for n in range(max(5, agreement_count // 5))
        ],
        batch_size=2000,
    )
    funding = FundingSource.objects.bulk_create(
        [
            FundingSource(
                programme=programme,
                title=f"{programme.name} contribution {n}",
                amount=rng.randrange(10, 100) * 10**6,
                status=rng.choice(["potential", "expected", "contingent", "secured"]),
                decision_on=today + datetime.timedelta(days=rng.randrange(-30, 30)),
                visibility=visibility(),
            )
            for programme in programmes
            for n in range(3)
        ]
    )
    Milestone.objects.bulk_create(
        [
            Milestone(
                title=f"Milestone {n}",
                happens_on=today + datetime.timedelta(days=rng.randrange(-20, 40)),
                agreement=rng.choice(agreements),
                visibility=visibility(),
            )
            for n in range(agreement_count // 2)
        ],
        batch_size=2000,
    )
    Statement.objects.bulk_create(
        [
            Statement(
                person=rng.choice(people),
                said_on=today - datetime.timedelta(days=rng.randrange(0, 6)),
                summary="What was said, in our own words. " * 3,
                # Statements have no history of their own: only a week's worth are new.
                agreement=rng.choice(agreements),
                source=rng.choice(sources),
                visibility=visibility(),
            )
            for _ in range(changes // 20 * 7 // (3 * 365) + 1)
        ],
        batch_size=2000,
    )
    subjects = [
        *(("clause", clause, Clause.Status.values) for clause in clauses),
        *(("agreement", agreement, Agreement.Status.values) for agreement in agreements),
        *(("topic", topic, Topic.Status.values) for topic in topics),
        *(("funding_source", source, FundingSource.Status.values) for source in funding),
    ]
    weights = [
        *([0.7 / len(clauses)] * len(clauses)),
        *([0.1 / len(agreements)] * len(agreements)),
        *([0.1 / len(topics)] * len(topics)),
        *([0.1 / len(funding)] * len(funding)),
    ]

    def status_changes():
        for kind, subject, statuses in rng.choices(subjects, weights, k=changes):
            from_status, to_status = rng.sample(statuses, 2)
            recorded_at = now - datetime.timedelta(seconds=rng.randrange(60, HISTORY_SECONDS))
            yield StatusChange(
                kind=kind,
                **{kind: subject},
                from_status=from_status,
                to_status=to_status,
                recorded_by=editor,
                recorded_at=recorded_at,
                effective_on=recorded_at.date(),
                note="A note on the change." if rng.random() < 0.3 else "",
                source=rng.choice(sources) if rng.random() < 0.5 else None,
            )

    StatusChange.objects.bulk_create(status_changes(), batch_size=5000)

    managers = User.objects.bulk_create(
        [
            User(username=f"manager-{n}", email=f"manager-{n}@example.org", password="!")
            for n in range(subscriptions)
        ],
        batch_size=5000,
    )
    group = Group.objects.get(name="Managers")
    User.groups.through.objects.bulk_create(
        [User.groups.through(user=user, group=group) for user in managers], batch_size=5000
    )
    everything = max(1, subscriptions // 2000)  # a few follow everything: the big digests
    subscription_rows = Subscription.objects.bulk_create(
        [
            Subscription(
                user=user,
                frequency="weekly",
                hour=rng.randrange(24),
                weekday=rng.randrange(7),
                follows_everything=n < everything,
                next_due_at=now - datetime.timedelta(minutes=1),
                created_at=now - datetime.timedelta(days=7),
            )
            for n, user in enumerate(managers)
        ],
        batch_size=5000,
    )
    Subscription.agreements.through.objects.bulk_create(
        [
            Subscription.agreements.through(subscription=subscription, agreement=agreement)
            for subscription in subscription_rows[everything:]
            for agreement in rng.sample(agreements, rng.randint(1, 3))
        ],
        batch_size=5000,
    )
    Subscription.topics.through.objects.bulk_create(
        [
            Subscription.topics.through(subscription=subscription, topic=rng.choice(topics))
            for subscription in subscription_rows[everything:]
            if rng.random() < 0.5
        ],
        batch_size=5000,
    )
    return {"agreements": agreement_count, "follow_everything": everything}


def reset(clear_record: bool, due: int | None = None) -> None:
    """Empty the ledger (and the record too, between sizes); make every digest due again,
    or only the first `due` (those who follow everything among them)."""
    from django.db import connection
    from django.utils import timezone

    from agreements.models import Subscription

    tables = ["agreements_digestitem", "agreements_digestdelivery"]
    if clear_record:
        tables = ["auth_user", *_agreements_tables()]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    if not clear_record:
        now = timezone.now()
        Subscription.objects.update(next_due_at=now - datetime.timedelta(minutes=1))
        if due is not None:
            later = Subscription.objects.order_by("pk").values_list("pk", flat=True)[due:]
            Subscription.objects.filter(pk__in=list(later)).update(
                next_due_at=now + datetime.timedelta(days=1)
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _agreements_tables() -> list[str]:
    from django.apps import apps

    return [model._meta.db_table for model in apps.get_app_config("agreements").get_models()]


# Measuring ----------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def run_digests(*, count_queries: bool) -> dict:
    """Plan every due digest, then send them all; time and count each phase."""
    from django.db import connection
    from django.utils import timezone

    from agreements import digests

    counter = QueryCounter()
    with connection.execute_wrapper(counter) if count_queries else _nothing():
        now = timezone.now()
        started = time.perf_counter()
        planned = digests.plan_due_digests(now)
        plan_seconds = time.perf_counter() - started
        plan_queries = counter.count
        started = time.perf_counter()
        sent = digests.send_pending_digests(now)
        send_seconds = time.perf_counter() - started
        send_queries = counter.count - plan_queries
    planned_count = sum(1 for r in planned if r.outcome == digests.Outcome.PLANNED)
    sent_count = sum(1 for r in sent if r.outcome == digests.Outcome.SENT)
    figures = {
        "due": len(planned),
        "planned": planned_count,
        "empty": sum(1 for r in planned if r.outcome == digests.Outcome.EMPTY),
        "sent": sent_count,
        "items": sum(r.items for r in planned),
        "plan_seconds": round(plan_seconds, 2),
        "send_seconds": round(send_seconds, 2),
    }
    if count_queries:
        # Planning runs a batch at a time: its queries are shared by the batch's digests,
        # so they are given amortized, over the digests planned (and over every due
        # subscription, empty ones included).
        figures["queries_per_digest"] = {
            "total": round((plan_queries + send_queries) / max(planned_count, 1), 2),
            "plan": round(plan_queries / max(planned_count, 1), 2),
            "plan_per_due_subscription": round(plan_queries / max(len(planned), 1), 2),
            "send": round(send_queries / max(sent_count, 1), 2),
        }
    return figures


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def sample_contexts(limit: int):
    """The rendering contexts of up to `limit` digests, captured while they are planned."""
    from agreements.digests import wording

    captured: list[dict] = []
    render = wording.render_email

    def capture(name, context):
        if len(captured) < limit:
            captured.append(context)
        return render(name, context)

    return captured, capture, render


def floor(contexts: list[dict]) -> dict:
    """Render and send the same messages from contexts in memory: no database at all."""
    from django.conf import settings
    from django.core.mail import mailers

    from agreements import digests
    from agreements.emails import build_message, render_email, unsubscribe_headers

    def render_and_send():
        mailer = mailers.default
        for context in contexts:
            with digests.email_locale(settings.LANGUAGE_CODE):
                subject, text, html = render_email("digest", context)
            message = build_message(
                to="manager@example.org",
                subject=subject,
                text=text,
                html=html,
                headers={
                    "Message-ID": f"<floor.{secrets.token_hex(8)}@example.org>",
                    **unsubscribe_headers(context["unsubscribe_url"]),
                },
            )
            mailer.send_messages([message])

    started = time.perf_counter()
    render_and_send()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    render_and_send()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "messages": len(contexts),
        "digests_per_second": round(len(contexts) / seconds, 1) if seconds else None,
        "queries_per_digest": 0,
        "peak_memory_mb": round(peak / 2**20, 1),
    }


def measure(subscriptions: int, changes: int, rng: random.Random) -> dict:
    from agreements.digests import wording

    say(f"== {subscriptions} subscriptions, {changes} changes: generating")
    reset(clear_record=True)
    started = time.perf_counter()
    shape = generate(subscriptions, changes, rng)
    reset(clear_record=False)
    say(f"   generated in {time.perf_counter() - started:.0f} s; planning and sending")

    captured, capture, render = sample_contexts(FLOOR_SAMPLE)
    wording.render_email = capture
    try:
        timed = run_digests(count_queries=True)
    finally:
        wording.render_email = render
    total = timed["plan_seconds"] + timed["send_seconds"]
    say(f"   {timed['planned']} digests in {total:.0f} s; again under tracemalloc")

    # tracemalloc slows Python down two to three times: trace a sample, not the whole run.
    # What a run holds beyond one digest at a time is a list of small results, one per due
    # subscription, so the sample's peak is the run's peak give or take that list.
    reset(clear_record=False, due=MEMORY_SAMPLE)
    tracemalloc.start()
    traced = run_digests(count_queries=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    say("   floor")
    floor_figures = floor(captured)
    rate = round(timed["planned"] / total, 1) if total else None
    return {
        "subscriptions": subscriptions,
        "changes": changes,
        **shape,
        **timed,
        "digests_per_second": rate,
        "ratio_to_floor": (
            round(rate / floor_figures["digests_per_second"], 3)
            if rate and floor_figures["digests_per_second"]
            else None
        ),
        "due_subscriptions_per_second": round(timed["due"] / total, 1) if total else None,
        "peak_memory_mb": round(peak / 2**20, 1),
        "peak_memory_sample": traced["planned"],
        "floor": floor_figures,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if urlsplit(server).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("bench/digests.py needs PostgreSQL: set DATABASE_URL to its server.")
    name = f"tracker_digest_bench_{os.getpid()}"
    say(f"== creating database {name}")
    maintenance(server, f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    try:
        setup_django(server, name)
        rng = random.Random(SEED)  # noqa: S311 (synthetic data, not secrets)
        sizes = [
            (max(50, args.subscriptions // 10), max(500, args.changes // 10)),
            (args.subscriptions, args.changes),
        ]
        results = [measure(subscriptions, changes, rng) for subscriptions, changes in sizes]
    finally:
        from django.db import connections

        connections.close_all()
        maintenance(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"== dropped database {name}")
    report = {
        "benchmark": "digests",
        "sizes": results,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "notes": (
            "digests_per_second: planned digests over the time to plan (empty ones included) "
            "and send them, weekly subscriptions; ratio_to_floor: that rate over the floor's "
            "(target: at least 0.5); queries_per_digest: amortized over the planned digests "
            "(target: total at most 3), planning a batch of subscriptions per transaction "
            "and sending one UPDATE per message; peak_memory_mb is traced over the first "
            f"{MEMORY_SAMPLE} due subscriptions; the floor renders and sends {FLOOR_SAMPLE} "
            "of the same messages from contexts in memory."
        ),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
