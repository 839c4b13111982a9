"""The send_digests command: options, output, a failing mail server, a real SMTP server."""

import datetime
import email
import email.policy
import io
import re
import smtplib
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.utils import timezone

from agreements import services
from agreements.models import DigestDelivery, DigestItem, Subscription
from tests.conftest import make_user

NOW = datetime.datetime(2030, 1, 7, 8, 0, tzinfo=datetime.UTC)  # a Monday, 09:00 in Paris


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("send_digests", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def due(record, editor):
    """Five managers with a daily digest due before NOW, and one change they all follow.

    The clause, pending from today, has been quiet for years by NOW: the digest also says,
    once, that it has gone quiet (agreements/models/idle.py)."""
    managers = [make_user(f"manager{n}", group="Managers") for n in range(5)]
    for manager in managers:
        Subscription.objects.create(
            user=manager, frequency="daily", next_due_at=NOW - datetime.timedelta(hours=1)
        )
    services.change_status(record.clause, to="pending", by=editor)
    return managers


def test_it_plans_sends_and_summarizes(due, mailoutbox):
    output = run("--now", NOW.isoformat())

    assert len(mailoutbox) == 5
    assert output.count("planned  subscription") == 5
    assert output.count("sent  subscription") == 5
    assert "ExoMars: 1 clause pending signature, 1 record gone quiet — daily digest" in output
    assert output.strip().endswith("planned 5, sent 5, empty 0, failed 0")
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_second_run_sends_nothing_more(due, mailoutbox):
    run("--now", NOW.isoformat())
    output = run("--now", (NOW + datetime.timedelta(minutes=5)).isoformat())

    assert len(mailoutbox) == 5
    assert output.strip().endswith("planned 0, sent 0, empty 0, failed 0")


def test_the_next_period_without_changes_is_empty(due, mailoutbox):
    run("--now", NOW.isoformat())
    output = run("--now", (NOW + datetime.timedelta(days=1)).isoformat())

    assert len(mailoutbox) == 5
    assert output.strip().endswith("planned 0, sent 0, empty 5, failed 0")


def test_a_dry_run_writes_nothing_and_sends_nothing(due, mailoutbox):
    before = list(Subscription.objects.order_by("pk").values_list("next_due_at", flat=True))

    output = run("--dry-run", "--now", NOW.isoformat())

    assert mailoutbox == []
    assert not DigestDelivery.objects.exists() and not DigestItem.objects.exists()
    after = list(Subscription.objects.order_by("pk").values_list("next_due_at", flat=True))
    assert after == before
    assert output.count("would send") == 5
    assert "5 to plan, 0 empty, 5 would be sent. Nothing was written or sent." in output


@pytest.mark.parametrize("value", ["tomorrow", "2012-13-45T07:00", "2012-11-19T25:00:00", ""])
def test_a_bad_now_is_refused_clearly(db, value):
    with pytest.raises(CommandError, match="is not a date and time; use ISO 8601"):
        run("--now", value)


def test_a_now_without_offset_is_paris_time(due, mailoutbox):
    # The digests are due at 07:00 UTC, which is 08:00 in Paris.
    run("--now", "2030-01-07T07:30:00")
    assert mailoutbox == []

    run("--now", "2030-01-07T08:00:00")
    assert len(mailoutbox) == 5


# A mail server that fails midway -------------------------------------------------------------


class FlakyMailer(BaseEmailBackend):
    """Accepts every message except the ones whose (1-based) number is in `fail_on`."""

    fail_on: set[int] = set()
    calls = 0
    accepted: list[email.message.EmailMessage] = []

    def send_messages(self, messages):
        for message in messages:
            type(self).calls += 1
            if type(self).calls in self.fail_on:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            type(self).accepted.append(message.message())
        return len(messages)


@pytest.fixture
def flaky_mailer(settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.test_send_digests.FlakyMailer"}}
    FlakyMailer.calls, FlakyMailer.accepted, FlakyMailer.fail_on = 0, [], set()
    return FlakyMailer


def test_a_server_failing_on_the_third_of_five_loses_and_repeats_nothing(due, flaky_mailer):
    flaky_mailer.fail_on = {3}
    first_output = run("--now", NOW.isoformat())
    planned = dict(DigestDelivery.objects.values_list("pk", "message_id"))

    deliveries = list(DigestDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == ["sent", "sent", "pending", "pending", "pending"]
    assert "SMTPServerDisconnected" in deliveries[2].last_error
    assert deliveries[2].next_attempt_at > NOW
    assert first_output.strip().endswith("planned 5, sent 2, empty 0, failed 1")

    run("--now", (NOW + datetime.timedelta(minutes=11)).isoformat())

    deliveries = list(DigestDelivery.objects.order_by("pk"))
    assert [d.status for d in deliveries] == ["sent"] * 5
    sent_ids = [message["Message-ID"] for message in flaky_mailer.accepted]
    assert sorted(sent_ids) == sorted(planned.values())  # each once, as planned
    assert deliveries[2].attempts == 2


def test_it_gives_up_after_five_attempts(record, manager, editor, flaky_mailer):
    Subscription.objects.create(user=manager, frequency="daily", next_due_at=NOW)
    services.change_status(record.clause, to="pending", by=editor)
    flaky_mailer.fail_on = set(range(1, 100))
    moment = NOW
    for _ in range(5):
        run("--now", moment.isoformat())
        moment += datetime.timedelta(days=1)

    failed = DigestDelivery.objects.filter(status="failed")
    assert failed.count() == 1
    assert failed.get().attempts == 5
    assert flaky_mailer.accepted == []


# A real SMTP server ----------------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    yield inbox
    controller.stop()


def test_a_digest_through_a_real_smtp_server(due, smtp_server, settings, client):
    settings.SITE_URL = "https://tracker.example.org"
    run("--now", NOW.isoformat())

    assert len(smtp_server.envelopes) == 5
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["manager0@example.org"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    delivery = DigestDelivery.objects.get(recipient="manager0@example.org")
    assert message["Message-ID"] == delivery.message_id
    # A subject this long is folded into encoded words; unfolded, a fold leaves two spaces.
    assert " ".join(message["Subject"].split()) == (
        "ExoMars: 1 clause pending signature, 1 record gone quiet — daily digest"
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Clause 1 · Proton launchers: Draft → Pending signature" in text
    assert "Proton launchers" in html
    links = re.findall(r"https?://[^\s<>\"]+", text + html)
    assert links and all(link.startswith("https://tracker.example.org/") for link in links)
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://tracker.example.org/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # RFC 8058: the mail client POSTs to that address, with no session and no CSRF token.
    client.handler.enforce_csrf_checks = True
    path = unsubscribe.strip("<>").removeprefix("https://tracker.example.org")
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert delivery.subscription.__class__.objects.get(pk=delivery.subscription_id).frequency == (
        "off"
    )


def test_a_digest_before_its_time_is_not_sent(due, mailoutbox):
    output = run("--now", (NOW - datetime.timedelta(hours=2)).isoformat())

    assert mailoutbox == []
    assert output.strip().endswith("planned 0, sent 0, empty 0, failed 0")


def test_now_defaults_to_the_current_time(record, manager, editor, mailoutbox):
    Subscription.objects.create(
        user=manager, frequency="daily", next_due_at=timezone.now() - datetime.timedelta(1)
    )
    services.change_status(record.clause, to="pending", by=editor)

    run()

    assert len(mailoutbox) == 1


def test_loop_runs_until_interrupted(due, mailoutbox, monkeypatch):
    from agreements.management.commands import send_digests

    def interrupt(seconds):
        assert seconds == send_digests.LOOP_SECONDS
        raise KeyboardInterrupt

    monkeypatch.setattr(send_digests.time, "sleep", interrupt)

    output = run("--loop", "--now", NOW.isoformat())

    assert len(mailoutbox) == 5
    assert output.strip().endswith("Interrupted.")
