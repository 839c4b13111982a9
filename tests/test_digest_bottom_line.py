"""The digest's bottom line: where each followed agreement stands, amounts on funding
lines, "new · …" for a new record, and the dry run's text bodies."""

import datetime
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from agreements import digests, services
from agreements.models import DigestDelivery, FundingSource, Subscription


def followed_by(manager, record, **extra) -> Subscription:
    subscription = Subscription.objects.create(
        user=manager,
        frequency="daily",
        follows_everything=False,
        next_due_at=timezone.now(),
        created_at=timezone.now() - datetime.timedelta(days=1),
        **extra,
    )
    subscription.agreements.set([record.agreement])
    return subscription


def test_the_digest_ends_with_where_each_followed_agreement_stands(manager, record):
    subscription = followed_by(manager, record)
    services.change_status(record.clause, to="signed", by=record.editor, source=record.source)

    text = digests.preview_digest(subscription).text

    assert "WHERE THINGS STAND" in text
    assert (
        "- ExoMars cooperation: 1 of 2 clauses signed; still uncovered: EUR 320 million "
        "counting only secured money, EUR 270 million if all comes through"
    ) in text
    assert text.index("WHERE THINGS STAND") < text.index("AGREEMENTS AND CLAUSES")


def test_a_funding_line_has_its_amount_and_a_new_record_says_new(manager, record):
    subscription = followed_by(manager, record)
    services.record_creation(
        FundingSource(
            programme=record.programme,
            title="Launch savings",
            amount=Decimal("120000000"),
            status=FundingSource.Status.POTENTIAL,
        ),
        by=record.editor,
    )

    text = digests.preview_digest(subscription).text

    assert "Funding source · Launch savings (EUR 120,000,000): new · Potential" in text
    assert "— → Potential" not in text


def test_the_digest_starts_with_since_when(manager, record):
    subscription = followed_by(manager, record)
    services.change_status(record.clause, to="pending", by=record.editor)
    text = digests.preview_digest(subscription).text
    assert text.startswith("Since your last digest (")


def test_a_dry_run_at_verbosity_2_prints_the_text_bodies(manager, record):
    followed_by(manager, record)
    services.change_status(record.clause, to="pending", by=record.editor)
    out = StringIO()

    call_command("send_digests", "--dry-run", verbosity=2, stdout=out)

    assert "would send" in out.getvalue()
    assert "WHERE THINGS STAND" in out.getvalue()
    quiet = StringIO()
    call_command("send_digests", "--dry-run", stdout=quiet)
    assert "WHERE THINGS STAND" not in quiet.getvalue()


def sent_digest_of(subscription: Subscription) -> None:
    """Plan this subscription's digest now and mark it sent, as the sender would."""
    subscription.refresh_from_db()
    result = digests.plan_digest(subscription, timezone.now())
    assert result.outcome == digests.Outcome.PLANNED
    DigestDelivery.objects.filter(pk=result.delivery_id).update(status="sent")


def launch_savings(record) -> FundingSource:
    return services.record_creation(
        FundingSource(
            programme=record.programme,
            title="Launch savings",
            amount=Decimal("120000000"),
            status=FundingSource.Status.POTENTIAL,
        ),
        by=record.editor,
    )


def test_an_uncovered_amount_that_moved_since_the_last_digest_has_an_arrow(manager, record):
    subscription = followed_by(manager, record)
    services.change_status(record.clause, to="pending", by=record.editor)
    sent_digest_of(subscription)
    launch_savings(record)

    text = digests.preview_digest(subscription).text

    assert (
        "still uncovered: EUR 320 million counting only secured money, "
        "EUR 270 million → EUR 150 million if all comes through"
    ) in text
    assert "→ EUR 150 million" in digests.preview_digest(subscription).html


def test_an_unchanged_amount_and_a_first_digest_have_no_arrow(manager, record):
    subscription = followed_by(manager, record)
    services.change_status(record.clause, to="pending", by=record.editor)
    assert "million →" not in digests.preview_digest(subscription).text  # the first digest
    sent_digest_of(subscription)
    services.change_status(record.clause, to="signed", by=record.editor, source=record.source)

    text = digests.preview_digest(subscription).text

    assert "EUR 270 million if all comes through" in text
    assert "million →" not in text


def test_the_arrow_compares_with_the_digest_the_reader_got(manager, record):
    subscription = followed_by(manager, record)
    services.change_status(record.clause, to="pending", by=record.editor)
    sent_digest_of(subscription)
    launch_savings(record)
    # Planned but never sent (the mail server failed): the reader never read its figures.
    subscription.refresh_from_db()
    failed = digests.plan_digest(subscription, timezone.now())
    DigestDelivery.objects.filter(pk=failed.delivery_id).update(status="failed")
    services.change_status(record.clause, to="signed", by=record.editor, source=record.source)

    text = digests.preview_digest(subscription).text

    assert "EUR 270 million → EUR 150 million if all comes through" in text
