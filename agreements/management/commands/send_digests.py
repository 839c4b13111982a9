"""Plan the digests that are due and send the pending ones. Run it from cron every few
minutes, or once with --loop; several copies on several machines are safe (see
agreements/digests/ for why)."""

from __future__ import annotations

import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agreements import digests
from agreements.digests import Outcome
from agreements.models import DigestDelivery

LOOP_SECONDS = 60


def parse_now(value: str) -> datetime.datetime:
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(
            f"--now {value!r} is not a date and time; use ISO 8601, e.g. 2012-11-26T07:00:00+01:00"
        )
    if timezone.is_naive(moment):
        # A bare local time means the tracker's time zone, as the hours on the settings page.
        moment = timezone.make_aware(moment, digests.local_zone())
    return moment


class Command(BaseCommand):
    help = "Plan the email digests that are due, and send the pending ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would be planned and sent; write nothing, send nothing.",
        )
        parser.add_argument(
            "--now",
            help="Act as if it were this moment (ISO 8601; local time if no offset is given).",
        )
        parser.add_argument(
            "--loop",
            action="store_true",
            help=f"Run every {LOOP_SECONDS} seconds until interrupted.",
        )

    def handle(self, *args, dry_run: bool, now: str | None, loop: bool, **options):
        self.verbosity = options.get("verbosity", 1)
        fixed_now = parse_now(now) if now is not None else None
        try:
            while True:
                self.run_once(fixed_now or timezone.now(), dry_run=dry_run)
                if not loop:
                    break
                # A long-running process must not keep a connection the database dropped.
                close_old_connections()
                time.sleep(LOOP_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("Interrupted.")

    def run_once(self, now: datetime.datetime, *, dry_run: bool) -> None:
        progress = self.progress if self.stdout.isatty() else None
        if dry_run:
            with transaction.atomic():
                planned = digests.plan_due_digests(now, progress=progress)
                # With -v 2, each digest's text as it would go, read before the rollback.
                bodies = (
                    dict(
                        DigestDelivery.objects.filter(
                            pk__in=[result.delivery_id for result in planned if result.delivery_id]
                        ).values_list("pk", "body_text")
                    )
                    if self.verbosity >= 2
                    else {}
                )
                due = DigestDelivery.objects.filter(
                    status=DigestDelivery.Status.PENDING, next_attempt_at__lte=now
                ).count()
                transaction.set_rollback(True)  # a dry run writes nothing
            self.clear_progress(progress)
            for result in planned:
                if result.outcome == Outcome.PLANNED:
                    self.report(result, label="would send")
                    if result.delivery_id in bodies:
                        self.stdout.write(bodies[result.delivery_id])
            self.stdout.write(
                f"Dry run at {now.isoformat()}: {self.count(planned, Outcome.PLANNED)} to plan, "
                f"{self.count(planned, Outcome.EMPTY)} empty, {due} would be sent. "
                "Nothing was written or sent."
            )
            return
        planned = digests.plan_due_digests(now, progress=progress)
        self.clear_progress(progress)
        sent = digests.send_pending_digests(now, progress=progress)
        self.clear_progress(progress)
        for result in planned + sent:
            if result.outcome != Outcome.SKIPPED:
                self.report(result)
        self.stdout.write(
            f"{now.isoformat()}: planned {self.count(planned, Outcome.PLANNED)}, "
            f"sent {self.count(sent, Outcome.SENT)}, "
            f"empty {self.count(planned, Outcome.EMPTY)}, "
            f"failed {self.count(planned + sent, Outcome.FAILED) + self.count(sent, Outcome.RETRY)}"
        )

    @staticmethod
    def count(results, outcome: Outcome) -> int:
        return sum(1 for result in results if result.outcome == outcome)

    def report(self, result: digests.DigestResult, label: str = "") -> None:
        label = label or result.outcome.value
        line = f"{label:>10}  subscription {result.subscription_id}  {result.recipient}"
        if result.subject:
            line += f"  {result.subject!r}"
        if result.items:
            line += f"  ({result.items} items)"
        if result.error:
            line += f"  {result.error}"
        style = self.style.ERROR if result.outcome in (Outcome.RETRY, Outcome.FAILED) else None
        self.stdout.write(style(line) if style else line)

    def progress(self, done: int, total: int | None) -> None:
        text = f"\r{done}/{total}" if total else f"\rsent {done}"
        self.stdout.write(text, ending="")
        self.stdout.flush()

    def clear_progress(self, progress) -> None:
        if progress is not None:
            self.stdout.write("\r\033[K", ending="")
