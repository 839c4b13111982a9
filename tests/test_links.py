"""Links between records (issue 12): conditions, cycles, visibility."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from agreements import services
from agreements.models import Link, LinkKind, Milestone, Visibility
from agreements.services import LinkError

DAY = datetime.date(2012, 11, 26)


def blocked_by(record, other, by, **fields):
    return services.record_link(record, LinkKind.BLOCKED_BY, other, by=by, **fields)


def conditions(user, today=DAY):
    rows = Link.objects.visible_to(user).with_condition(today).order_by("id")
    return [(row.condition, row.condition_met, row.met_on) for row in rows]


def test_a_blocker_gets_the_usual_condition_of_its_kind(record, editor):
    link = blocked_by(record.agreement, record.topic, editor)
    assert link.condition == Link.Condition.TOPIC_AGREED
    assert link.recorded_by == editor


def test_it_refuses_a_condition_that_does_not_fit_the_blocker(record, editor):
    with pytest.raises(LinkError) as refused:
        blocked_by(record.agreement, record.topic, editor, condition="funding_secured")
    assert refused.value.field == "condition"
    assert not Link.objects.exists()


def test_the_database_refuses_a_condition_that_does_not_fit_too(record, editor):
    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(
            agreement=record.agreement,
            kind=LinkKind.BLOCKED_BY,
            to_topic=record.topic,
            condition="funding_secured",
        )


def test_the_database_refuses_two_records_on_one_side(record):
    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(
            agreement=record.agreement,
            topic=record.topic,
            kind=LinkKind.RELATED,
            to_clause=record.clause,
        )


def test_it_refuses_a_link_to_itself(record, editor):
    with pytest.raises(LinkError):
        services.record_link(record.clause, LinkKind.RELATED, record.clause, by=editor)


def test_it_refuses_a_cycle_and_names_it(record, editor):
    blocked_by(record.agreement, record.potential, editor)
    blocked_by(record.potential, record.topic, editor)
    with pytest.raises(LinkError) as refused:
        blocked_by(record.topic, record.agreement, editor, condition="agreement_signed")
    message = str(refused.value)
    assert "ExoMars cooperation" in message
    assert "Science Programme Committee" in message
    assert "Juice cooperation" in message
    assert Link.objects.count() == 2


def test_precedence_and_blockers_make_one_order(record, editor):
    # The topic comes before the agreement (a blocker); the agreement cannot precede it.
    blocked_by(record.agreement, record.topic, editor)
    with pytest.raises(LinkError):
        services.record_link(record.agreement, LinkKind.PRECEDES, record.topic, by=editor)
    services.record_link(record.topic, LinkKind.PRECEDES, record.agreement, by=editor, lag_days=30)


def test_packages_and_related_links_are_no_order(record, editor):
    services.record_link(record.clause, LinkKind.PACKAGE, record.second_clause, by=editor)
    services.record_link(record.second_clause, LinkKind.PACKAGE, record.clause, by=editor)
    services.record_link(record.clause, LinkKind.RELATED, record.topic, by=editor)
    assert Link.objects.count() == 3


def test_several_links_saved_at_once_are_checked_together(record, editor):
    first = Link(agreement=record.agreement, kind=LinkKind.BLOCKED_BY, to_topic=record.topic)
    second = Link(topic=record.topic, kind=LinkKind.BLOCKED_BY, to_agreement=record.agreement)
    with pytest.raises(LinkError):
        services.record_links([first, second], by=editor)
    assert not Link.objects.exists()


def test_a_removed_link_no_longer_makes_a_cycle(record, editor):
    old = blocked_by(record.agreement, record.topic, editor)
    turned = Link(topic=record.topic, kind=LinkKind.BLOCKED_BY, to_agreement=record.agreement)
    services.record_links([turned], by=editor, removed=[old])
    assert list(Link.objects.values_list("topic", flat=True)) == [record.topic.pk]


# Conditions, met and unmet, for each kind ----------------------------------------------------


def test_a_topic_blocker_lifts_when_the_topic_reaches_agreement(record, editor):
    blocked_by(record.agreement, record.topic, editor)
    assert conditions(editor) == [("topic_agreed", False, None)]
    services.change_status(
        record.topic,
        to="agreed",
        by=editor,
        effective_on=datetime.date(2012, 11, 23),
        source=record.source,
    )
    assert conditions(editor) == [("topic_agreed", True, datetime.date(2012, 11, 23))]


def test_a_funding_blocker_lifts_when_the_money_is_secured(record, editor):
    blocked_by(record.agreement, record.potential, editor)
    blocked_by(record.clause, record.secured, editor)
    assert conditions(editor) == [
        ("funding_secured", False, None),
        ("funding_secured", True, datetime.date(2012, 11, 19)),
    ]


def test_a_milestone_blocker_lifts_when_its_whole_date_has_passed(record, editor):
    decision = Milestone.objects.create(
        title="Committee decision", happens_on=datetime.date(2013, 2, 1), precision="month"
    )
    blocked_by(record.potential, decision, editor)
    assert conditions(editor, datetime.date(2013, 2, 28)) == [("milestone_passed", False, None)]
    assert conditions(editor, datetime.date(2013, 3, 1))[0][1] is True


def test_a_milestone_blocker_lifts_when_it_is_marked_done(record, editor):
    decision = Milestone.objects.create(
        title="Committee decision", happens_on=datetime.date(2013, 2, 1), precision="month"
    )
    blocked_by(record.potential, decision, editor)
    decision.done_on = datetime.date(2013, 2, 14)
    decision.save()
    assert conditions(editor, datetime.date(2013, 2, 20)) == [
        ("milestone_passed", True, datetime.date(2013, 2, 14))
    ]
    link = Link.objects.visible_to(editor).with_condition(datetime.date(2013, 2, 20)).get()
    assert link.lifted_on_label == "14 Feb 2013"


def test_a_clause_blocker_lifts_when_the_text_is_agreed(record, editor):
    blocked_by(record.agreement, record.clause, editor)
    blocked_by(record.agreement, record.second_clause, editor)
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 20)
    )
    assert conditions(editor) == [
        ("clause_agreed", True, datetime.date(2012, 11, 20)),
        ("clause_agreed", False, None),
    ]


def test_a_clause_blocker_on_signature_waits_for_the_signature(record, editor):
    blocked_by(record.agreement, record.clause, editor, condition="clause_signed")
    assert conditions(editor) == [("clause_signed", False, None)]
    services.change_status(
        record.clause, to="pending", by=editor, effective_on=datetime.date(2012, 11, 20)
    )
    services.change_status(
        record.clause,
        to="signed",
        by=editor,
        effective_on=datetime.date(2012, 11, 21),
        source=record.source,
    )
    assert conditions(editor) == [("clause_signed", True, datetime.date(2012, 11, 21))]


def test_an_agreement_blocker_lifts_when_it_is_signed(record, editor):
    blocked_by(record.topic, record.agreement, editor)
    assert conditions(editor) == [("agreement_signed", False, None)]


def test_the_blockers_upstream_are_the_chain_and_nothing_beside_it(record, editor):
    # The agreement waits on the topic, which waits on the money, which waits on a date.
    chain = [
        blocked_by(record.agreement, record.topic, editor),
        blocked_by(record.topic, record.potential, editor),
        blocked_by(record.potential, record.milestone, editor),
    ]
    # Beside the chain: a blocker of another record, and links that are not blockers.
    blocked_by(record.second_clause, record.secured, editor)
    services.record_link(record.agreement, LinkKind.RELATED, record.clause, by=editor)
    services.record_link(record.topic, LinkKind.PRECEDES, record.second_clause, by=editor)
    assert set(Link.objects.upstream_of(record.agreement)) == set(chain)
    assert set(Link.objects.upstream_of(record.topic)) == set(chain[1:])
    assert not Link.objects.upstream_of(record.milestone).exists()


# Visibility -----------------------------------------------------------------------------------


def test_links_through_internal_records_are_invisible_to_readers(record, editor, stakeholder):
    shown = blocked_by(record.agreement, record.topic, editor)
    blocked_by(record.agreement, record.internal_topic, editor)
    blocked_by(record.agreement, record.internal_funding, editor)
    blocked_by(record.clause, record.internal_milestone, editor)
    blocked_by(record.internal_clause, record.topic, editor)
    blocked_by(record.clause_of_internal_agreement, record.topic, editor)
    services.record_link(
        record.clause, LinkKind.RELATED, record.topic, by=editor, visibility=Visibility.INTERNAL
    )
    assert list(Link.objects.visible_to(stakeholder)) == [shown]
    assert Link.objects.visible_to(editor).count() == 7


def test_outsiders_see_no_links(record, editor, outsider):
    blocked_by(record.agreement, record.topic, editor)
    assert not Link.objects.visible_to(outsider).exists()


def test_linked_records_are_protected_from_deletion(record, editor):
    from django.db.models import ProtectedError

    decision = Milestone.objects.create(title="Decision", happens_on=datetime.date(2013, 2, 1))
    blocked_by(record.agreement, decision, editor)
    with pytest.raises(ProtectedError):
        decision.delete()
