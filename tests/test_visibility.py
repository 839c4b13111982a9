"""Invariant 2: one rule decides what a reader sees; internal records are staff-only."""

import pytest
from django.db.models import Q

from agreements import services
from agreements.models import (
    Agreement,
    Clause,
    FundingSource,
    Milestone,
    Statement,
    StatusChange,
    Topic,
)


def test_stakeholders_see_shared_records_only(record, stakeholder):
    assert set(Agreement.objects.visible_to(stakeholder)) == {record.agreement}
    assert set(Clause.objects.visible_to(stakeholder)) == {record.clause, record.second_clause}
    assert set(Topic.objects.visible_to(stakeholder)) == {record.topic}
    assert set(FundingSource.objects.visible_to(stakeholder)) == {
        record.secured,
        record.potential,
    }
    assert set(Milestone.objects.visible_to(stakeholder)) == {record.milestone}
    assert set(Statement.objects.visible_to(stakeholder)) == {record.statement}


def test_a_clause_of_an_internal_agreement_is_internal(record, manager):
    assert record.clause_of_internal_agreement not in Clause.objects.visible_to(manager)


def test_history_about_internal_records_is_hidden(record, stakeholder, editor):
    services.change_status(record.internal_clause, to="pending", by=editor)
    services.change_status(record.internal_topic, to="in_discussion", by=editor)
    visible = StatusChange.objects.visible_to(stakeholder)
    subjects = {change.subject for change in visible.with_subjects()}
    assert record.internal_clause not in subjects
    assert record.internal_topic not in subjects
    assert record.clause_of_internal_agreement not in subjects
    assert record.internal_funding not in subjects
    assert record.clause in subjects
    assert record.secured in subjects


def test_staff_see_everything(record, editor):
    assert Clause.objects.visible_to(editor).count() == Clause.objects.count()
    assert StatusChange.objects.visible_to(editor).count() == StatusChange.objects.count()


@pytest.mark.parametrize("model", [Agreement, Clause, Topic, Milestone, Statement, StatusChange])
def test_users_outside_the_reader_groups_see_nothing(record, outsider, model):
    assert not model.objects.visible_to(outsider).exists()


def test_anonymous_sees_nothing(record):
    from django.contrib.auth.models import AnonymousUser

    assert not Agreement.objects.visible_to(AnonymousUser()).exists()


def test_a_deactivated_user_sees_nothing(record, stakeholder):
    stakeholder.is_active = False
    assert not Agreement.objects.visible_to(stakeholder).exists()


def test_reading_is_granted_by_the_permission_through_a_group_or_directly(db):
    from django.contrib.auth.models import Permission, User

    from agreements.models import can_read

    user = User.objects.create_user("direct")
    assert not can_read(User.objects.get(pk=user.pk))
    user.user_permissions.add(Permission.objects.get(codename="view_agreement"))
    assert can_read(User.objects.get(pk=user.pk))


def test_a_related_manager_keeps_its_own_rows_once_the_kinds_rule_is_built(record, stakeholder):
    # `Clause.objects.visible_to` builds the readers' rows once per process and copies them;
    # a related manager filters before the rule and must never be handed those copies.
    other = Agreement.objects.create(title="Lunar robotics", slug="lunar-robotics")
    lone = Clause.objects.create(agreement=other, reference="1", position=1, title="Lander")
    assert lone in Clause.objects.visible_to(stakeholder)
    assert set(other.clauses.visible_to(stakeholder)) == {lone}
    assert set(record.agreement.clauses.visible_to(stakeholder)) == {
        record.clause,
        record.second_clause,
    }


def test_each_reader_gets_a_copy_of_the_rows_built_once(record, stakeholder, manager):
    first = Clause.objects.visible_to(stakeholder)
    second = Clause.objects.visible_to(manager)
    assert (first.reader, second.reader) == (stakeholder, manager)
    # Changing one copy's query in place leaves the rows the next reader starts from.
    first.query.add_q(Q(pk=record.clause.pk))
    assert list(first) == [record.clause]
    assert Clause.objects.visible_to(stakeholder).count() == 2
