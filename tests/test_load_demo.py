"""`manage.py load_demo`: the ExoMars record of November 2012, the demo accounts, idempotence."""

import datetime
import itertools
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from agreements import services
from agreements.demo import DEFAULT_DEMO_PASSWORD
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
)
from agreements.roles import ensure_roles

MILLION = Decimal(1_000_000)
STATUS_MODELS = [Agreement, Clause, Topic, FundingSource]


@pytest.fixture(autouse=True)
def demo_environment(db, settings, monkeypatch):
    # `make demo` runs with DEBUG on; the runner's own DEMO_PASSWORD must not leak in.
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    # Each run hashes three passwords; the real hasher is slow by design.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo(**options) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = [*apps.get_app_config("agreements").get_models(), User, Group]
    counts = {model._meta.label: model.objects.count() for model in models}
    counts["user groups"] = User.groups.through.objects.count()
    counts["agreement parties"] = Agreement.parties.through.objects.count()
    counts["topic parties"] = Topic.parties.through.objects.count()
    return counts


def statuses() -> dict[str, str]:
    return {
        f"{model._meta.label} {record.pk}": record.status
        for model in STATUS_MODELS
        for record in model.objects.all()
    }


def can_log_in(rf, username: str, password: str) -> bool:
    # django-axes checks lockouts per request, so authenticate needs one.
    request = rf.post("/accounts/login/")
    return authenticate(request=request, username=username, password=password) is not None


def test_it_loads_the_exomars_record():
    load_demo()
    assert Party.objects.count() == 6
    assert set(Person.objects.values_list("name", flat=True)) == {
        "Frederic Nordlund",
        "Jean-Jacques Dordain",
    }
    assert Source.objects.count() == 1
    assert FundingSource.objects.count() == 4
    assert Milestone.objects.count() == 6
    assert Statement.objects.count() == 5
    assert Statement.objects.filter(source__isnull=True).count() == 0

    programme = Programme.objects.get(slug="exomars")
    assert programme.estimated_cost == 1200 * MILLION
    assert programme.amount_in_question == 350 * MILLION
    assert programme.cost_note == "about USD 1.5 billion"

    agreement = Agreement.objects.get(slug="exomars-cooperation")
    assert agreement.status == Agreement.Status.APPROVED
    assert agreement.programme == programme
    assert set(agreement.parties.values_list("slug", flat=True)) == {"esa", "roscosmos"}


def test_its_three_clauses_are_pending_signature_and_bind_roscosmos():
    load_demo()
    clauses = Clause.objects.filter(agreement__slug="exomars-cooperation")
    assert clauses.count() == 3
    assert {clause.status for clause in clauses} == {Clause.Status.PENDING}
    assert {clause.obligated_party.slug for clause in clauses} == {"roscosmos"}


def test_its_topics_have_the_statuses_of_the_report():
    load_demo()
    assert Topic.objects.get(slug="juice-cooperation").status == Topic.Status.NO_AGREEMENT
    assert Topic.objects.get(slug="lunar-robotics").status == Topic.Status.IN_DISCUSSION


def test_its_milestones_are_as_precise_as_they_are_known():
    load_demo()
    dates = {(milestone.happens_on, milestone.precision) for milestone in Milestone.objects.all()}
    assert dates == {
        (datetime.date(2012, 11, 19), "day"),
        (datetime.date(2012, 11, 20), "day"),
        (datetime.date(2013, 2, 1), "month"),
        (datetime.date(2016, 1, 1), "year"),
        (datetime.date(2018, 1, 1), "year"),
        (datetime.date(2022, 1, 1), "year"),
    }
    # The same validation the admin applies: a month is its first day, a year 1 January.
    for record in [*Milestone.objects.all(), *FundingSource.objects.all()]:
        record.full_clean()


def test_its_funding_adds_up_as_the_report_says():
    load_demo()
    editor = User.objects.get(username="editor")
    funding = Programme.objects.visible_to(editor).with_funding().get(slug="exomars").funding
    assert funding.secured == 120 * MILLION
    assert funding.expected == 0
    assert funding.potential == 50 * MILLION
    assert funding.contingent == 120 * MILLION
    assert funding.found == 290 * MILLION
    assert funding.uncovered_if_all_comes_through == 60 * MILLION
    assert funding.uncovered_counting_secured_only == 230 * MILLION

    committee = FundingSource.objects.get(contributor__slug="esa-spc")
    assert committee.decision_on == datetime.date(2013, 2, 1)
    assert committee.decision_precision == "month"
    assert committee.condition


def test_every_status_has_the_history_that_leads_to_it():
    load_demo()
    editor = User.objects.get(username="editor")
    records = [record for model in STATUS_MODELS for record in model.objects.all()]
    assert len(records) == 1 + 3 + 2 + 4
    for record in records:
        history = list(record.status_changes.order_by("recorded_at", "id"))
        assert history, record
        assert history[0].from_status == ""
        for earlier, later in itertools.pairwise(history):
            assert later.from_status == earlier.to_status
        assert history[-1].to_status == record.status
        assert {change.recorded_by for change in history} == {editor}
        assert {change.source.title for change in history} == {Source.objects.get().title}


def test_running_it_twice_leaves_the_same_rows():
    load_demo()
    counts, status_by_record = row_counts(), statuses()
    history = list(StatusChange.objects.order_by("id").values_list("id", flat=True))

    output = load_demo()

    assert row_counts() == counts
    assert statuses() == status_by_record
    assert list(StatusChange.objects.order_by("id").values_list("id", flat=True)) == history
    assert "Created clause" not in output
    assert "Found clause" in output


def test_a_second_run_leaves_a_status_changed_since_as_recorded():
    load_demo()
    juice = Topic.objects.get(slug="juice-cooperation")
    services.change_status(
        juice, to=Topic.Status.AGREED, by=User.objects.get(username="editor"), no_source_yet=True
    )
    changes = StatusChange.objects.count()

    output = load_demo()

    juice.refresh_from_db()
    assert juice.status == Topic.Status.AGREED
    assert StatusChange.objects.count() == changes
    assert "left as recorded" in output


def test_it_refuses_without_force_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        load_demo()
    assert User.objects.count() == 0
    assert Party.objects.count() == 0
    assert StatusChange.objects.count() == 0


def test_it_loads_with_force_when_debug_is_off(settings):
    settings.DEBUG = False
    load_demo(force=True)
    assert Agreement.objects.filter(slug="exomars-cooperation").exists()
    assert User.objects.filter(username="editor").exists()


def test_the_demo_accounts_log_in_with_the_default_password(rf):
    output = load_demo()
    for username in ["editor", "stakeholder", "manager"]:
        assert can_log_in(rf, username, DEFAULT_DEMO_PASSWORD)
        assert username in output
    assert DEFAULT_DEMO_PASSWORD in output


def test_it_honours_demo_password(rf, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "chosen-by-the-operator-42")
    output = load_demo()
    assert can_log_in(rf, "stakeholder", "chosen-by-the-operator-42")
    assert not can_log_in(rf, "stakeholder", DEFAULT_DEMO_PASSWORD)
    # The chosen password may end up in a log; only where it comes from is printed.
    assert "chosen-by-the-operator-42" not in output
    assert "DEMO_PASSWORD" in output


def test_it_refuses_a_weak_demo_password_and_loads_nothing(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "short")
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        load_demo()
    assert User.objects.count() == 0
    assert Party.objects.count() == 0


def test_it_brings_back_a_missing_role_group():
    Group.objects.filter(name="Managers").delete()
    load_demo()
    manager = User.objects.get(username="manager")
    assert manager.groups.filter(name="Managers").exists()
    assert manager.has_perm("agreements.view_agreement")


def test_the_demo_accounts_have_their_roles():
    load_demo()
    editor = User.objects.get(username="editor")
    stakeholder = User.objects.get(username="stakeholder")
    manager = User.objects.get(username="manager")
    assert [group.name for group in editor.groups.all()] == ["Editors"]
    assert editor.is_staff
    assert [group.name for group in stakeholder.groups.all()] == ["Stakeholders"]
    assert not stakeholder.is_staff
    assert [group.name for group in manager.groups.all()] == ["Managers"]
    assert not manager.is_staff
    assert not any(user.is_superuser for user in (editor, stakeholder, manager))


def test_it_resets_an_existing_demo_account(rf):
    ensure_roles()  # a transactional test run before this one may have flushed them
    old = User.objects.create_user("manager", password="forgotten-long-ago-1", is_staff=True)
    old.groups.add(Group.objects.get(name="Editors"))

    load_demo()

    manager = User.objects.get(username="manager")
    assert manager.pk == old.pk
    assert [group.name for group in manager.groups.all()] == ["Managers"]
    assert not manager.is_staff
    assert can_log_in(rf, "manager", DEFAULT_DEMO_PASSWORD)


def test_it_subscribes_the_manager_to_a_weekly_digest_of_everything():
    load_demo()
    load_demo()
    subscription = Subscription.objects.get()
    assert subscription.user.username == "manager"
    assert subscription.frequency == Subscription.Frequency.WEEKLY
    assert subscription.follows_everything
