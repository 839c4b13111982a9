"""Clause versions and positions: the services, the append-only rule, agreement levels."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError

from agreements import services
from agreements.models import (
    Agreement,
    Clause,
    ClauseVersion,
    EventIsAppendOnly,
    Level,
    Position,
    TextWriteRefused,
)

pytestmark = pytest.mark.django_db


def levels(user, day=None) -> dict[str, str]:
    clauses = Clause.objects.visible_to(user).with_levels(day)
    return {
        clause.reference: clause.level
        for clause in clauses.filter(agreement__slug="exomars-cooperation")
    }


def test_a_new_version_becomes_the_clauses_text(negotiation, record):
    record.clause.refresh_from_db()
    assert record.clause.text == negotiation.v2.text
    assert [v.number for v in record.clause.versions.all()] == [1, 2]


def test_the_text_is_never_overwritten_in_place(negotiation, record):
    clause = Clause.objects.get(pk=record.clause.pk)
    clause.text = "Something else"
    with pytest.raises(TextWriteRefused):
        clause.save()


def test_the_same_text_again_is_not_a_version(negotiation, record):
    with pytest.raises(services.NegotiationError):
        services.add_clause_version(
            record.clause, text=negotiation.v2.text + "  ", by=record.editor
        )


def test_an_empty_text_is_refused(record):
    with pytest.raises(services.NegotiationError):
        services.add_clause_version(record.clause, text="   ", by=record.editor)


def test_a_month_precise_date_must_be_the_first(record):
    with pytest.raises(services.NegotiationError):
        services.add_clause_version(
            record.clause,
            text="A",
            by=record.editor,
            proposed_on=datetime.date(2012, 11, 19),
            precision="month",
        )


@pytest.mark.parametrize("model", [ClauseVersion, Position])
def test_events_refuse_edits_and_deletes_in_the_models(negotiation, model):
    row = model.objects.first()
    with pytest.raises(EventIsAppendOnly):
        row.save()
    with pytest.raises(EventIsAppendOnly):
        row.delete()
    with pytest.raises(EventIsAppendOnly):
        model.objects.all().update(note="x")
    with pytest.raises(EventIsAppendOnly):
        model.objects.all().delete()


@pytest.mark.parametrize("table", ["agreements_clauseversion", "agreements_position"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET note = 'x'", "DELETE FROM {table}"])
def test_the_database_refuses_edits_and_deletes(negotiation, table, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=table))


def test_a_reservation_needs_its_kind(record, negotiation):
    with pytest.raises(services.NegotiationError):
        negotiation.position(record.esa, record.clause, "reserves", None)
    with pytest.raises(services.NegotiationError):
        negotiation.position(record.esa, record.clause, "accepts", None, reservation="scrutiny")


def test_the_database_refuses_a_reservation_without_kind(record, negotiation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(
            party=record.esa,
            clause=record.clause,
            version=negotiation.v2,
            stance="reserves",
            taken_on=datetime.date(2012, 11, 19),
            recorded_by=record.editor,
        )


def test_a_party_outside_the_agreement_cannot_take_a_position(record, negotiation):
    outsider = record.esa.__class__.objects.create(name="Italy", slug="italy")
    with pytest.raises(services.NegotiationError):
        negotiation.position(outsider, record.clause, "accepts", None)


def test_a_position_refers_to_a_version_of_its_own_clause(record, negotiation):
    with pytest.raises(services.NegotiationError):
        negotiation.position(
            record.esa, record.clause, "accepts", None, version=negotiation.second_v1
        )


def test_a_position_defaults_to_the_current_version(negotiation):
    assert negotiation.esa_accepts.version == negotiation.v2


def test_a_topic_position_has_no_version(record):
    record.topic.parties.set([record.esa])
    position = services.record_position(
        record.esa, topic=record.topic, stance="proposes", by=record.editor
    )
    assert position.version is None
    with pytest.raises(services.NegotiationError):
        services.record_position(
            record.roscosmos, topic=record.topic, stance="accepts", by=record.editor
        )


# Agreement levels ----------------------------------------------------------------------------


def test_levels_follow_the_current_positions(negotiation, stakeholder):
    assert levels(stakeholder) == {"1": Level.AGREED, "2": Level.RESERVED}


def test_all_acceptances_with_one_ad_referendum_is_agreed_ad_referendum(
    negotiation, record, stakeholder
):
    negotiation.position(record.roscosmos, record.second_clause, "accepts", None)
    assert levels(stakeholder)["2"] == Level.AD_REFERENDUM


def test_a_new_version_makes_acceptances_of_the_old_one_stale(negotiation, record, stakeholder):
    services.add_clause_version(record.clause, text="A third text.", by=record.editor)
    assert levels(stakeholder)["1"] == Level.STALE
    negotiation.position(record.esa, record.clause, "accepts", None)
    negotiation.position(record.roscosmos, record.clause, "accepts", None)
    assert levels(stakeholder)["1"] == Level.AGREED


def test_withdrawing_an_acceptance_opens_the_clause(negotiation, record, stakeholder):
    negotiation.position(record.roscosmos, record.clause, "withdraws", None)
    assert levels(stakeholder)["1"] == Level.OPEN


def test_lifting_a_reservation_is_a_new_position(negotiation, record, stakeholder):
    negotiation.position(record.roscosmos, record.second_clause, "accepts_ad_referendum", None)
    assert levels(stakeholder)["2"] == Level.AD_REFERENDUM


def test_levels_as_of_a_day_before_and_after_a_change(negotiation, stakeholder):
    before = negotiation.ROUND_ONE
    # On round one ESA had accepted version 1, the text of that day: not everyone yet.
    assert levels(stakeholder, before) == {"1": Level.OPEN, "2": Level.OPEN}
    assert levels(stakeholder, before - datetime.timedelta(days=1)) == {
        "1": Level.OPEN,
        "2": Level.OPEN,
    }
    assert levels(stakeholder, negotiation.ROUND_TWO) == {"1": Level.AGREED, "2": Level.RESERVED}


def test_a_confidential_reservation_is_hidden_from_readers_levels(
    negotiation, record, stakeholder, editor
):
    negotiation.position(
        record.esa, record.clause, "reserves", None, reservation="substantive", internal=True
    )
    assert levels(stakeholder)["1"] == Level.AGREED
    assert levels(editor)["1"] == Level.RESERVED


def test_an_agreement_counts_its_clauses_by_level(negotiation, stakeholder, editor):
    agreement = (
        Agreement.objects.visible_to(stakeholder)
        .with_level_counts()
        .get(slug="exomars-cooperation")
    )
    counts = {level: count for level, _label, count in agreement.level_counts}
    assert counts == {"agreed": 1, "ad_referendum": 0, "reserved": 1, "stale": 0, "open": 0}
    # Staff see the internal clause too: open, nobody has a position on it.
    agreement = (
        Agreement.objects.visible_to(editor).with_level_counts().get(slug="exomars-cooperation")
    )
    assert dict((level, count) for level, _label, count in agreement.level_counts)["open"] == 1


def test_the_current_position_is_the_latest(negotiation, record, stakeholder):
    current = Position.objects.visible_to(stakeholder).current().filter(clause=record.clause)
    assert set(current) == {negotiation.esa_accepts, negotiation.roscosmos_accepts}
    on_round_one = Position.objects.visible_to(stakeholder).current(negotiation.ROUND_ONE)
    assert set(on_round_one.filter(clause=record.clause)) == {negotiation.esa_accepts_v1}


def test_readers_see_no_events_of_internal_records(negotiation, record, stakeholder, editor):
    assert (
        not ClauseVersion.objects.visible_to(stakeholder)
        .filter(clause=record.internal_clause)
        .exists()
    )
    assert ClauseVersion.objects.visible_to(editor).filter(clause=record.internal_clause).exists()
    hidden = negotiation.position(record.esa, record.clause, "rejects", None, internal=True)
    assert hidden not in Position.objects.visible_to(stakeholder)
    assert hidden in Position.objects.visible_to(editor)


def test_levels_take_a_constant_number_of_queries(record, stakeholder, django_assert_num_queries):
    def run():
        list(Clause.objects.visible_to(stakeholder).with_levels())
        Agreement.objects.visible_to(stakeholder).with_level_counts().get(pk=record.agreement.pk)

    for reference in range(10, 13):
        clause = record.create(
            Clause(agreement=record.agreement, reference=str(reference), title="x")
        )
        services.add_clause_version(clause, text="t", by=record.editor)
    stakeholder._can_read = True
    with django_assert_num_queries(2):
        run()
    for reference in range(100, 400):
        Clause.objects.create(agreement=record.agreement, reference=str(reference), title="x")
    with django_assert_num_queries(2):
        run()
