"""The audit trail: every write to a record table leaves an event, written by PostgreSQL.

django-pghistory installs a trigger per table and per operation (migration 0011), so
whatever writes the row is recorded: the admin, a service, `QuerySet.update()`, a bulk
insert, a shell, raw SQL from another program. Each event holds:

- the row as it is after the write (before it, for a deletion), with `pgh_obj_id` naming
  the row and `pgh_label` the operation (`insert`, `update`, `delete`; `add` and `remove`
  for the parties of an agreement or topic);
- `pgh_diff`, for an update: the columns that changed, each `[old, new]` as text, worked
  out by the trigger from the old and new rows (`updated_at` left out);
- `pgh_created_at`, the time of the transaction;
- `pgh_context`, what the application said about the write: the editor's id (`user`), the
  admin URL (`url`) and the reason given (`reason`) for a request; the command (`command`)
  for `manage.py`; `load_demo` or `import_record` for those. A write from outside the
  application (a shell, psql) has none.

Event tables are append-only in the database (migration 0012): UPDATE, DELETE and
TRUNCATE are refused whoever connects, as for the status history. Only staff see them.

A record table added later joins with one line below, and a migration
(`makemigrations` writes it; add the append-only guard to it like 0012 does).
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.db import models
from django.utils.translation import gettext_lazy as _
from pghistory.trigger import Event as PghistoryTrigger

from .links import Link
from .negotiation import Agreement, Clause, Milestone, Statement, Topic
from .record import FundingSource, Party, Person, Programme, Source


def derived_columns(model: type[models.Model]) -> list[str]:
    """Columns no one edits: `updated_at` moves on every save, and a generated column (the
    stored search document) follows the fields it is made from. Events neither copy nor
    diff them."""
    return ["updated_at"] + [
        field.column
        for field in model._meta.concrete_fields
        if isinstance(field, models.GeneratedField)
    ]


def diff_sql(model: type[models.Model]) -> str:
    """The changed columns of an UPDATE, {"column": [old, new]}, as text (an amount keeps
    its digits), leaving out the derived ones."""
    derived = ", ".join(f"'{column}'" for column in derived_columns(model))
    # The names are the model's own columns, never input.
    return (
        "(SELECT jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)) "  # noqa: S608
        "FROM jsonb_each_text(to_jsonb(NEW)) AS n "
        "JOIN jsonb_each_text(to_jsonb(OLD)) AS o ON o.key = n.key "
        f"WHERE n.value IS DISTINCT FROM o.value AND n.key NOT IN ({derived}))"
    )


class DiffingTrigger(PghistoryTrigger):
    """pghistory's trigger, also storing `pgh_diff` for an update."""

    def get_func(self, model):
        func = super().get_func(model)
        table = f'INSERT INTO "{self.event_model._meta.db_table}" ('
        diff = diff_sql(model) if self.row == "NEW" and "UPDATE" in str(self.operation) else "NULL"
        assert func.func.count(table) == 1 and func.func.count(") VALUES (") == 1
        func.func = func.func.replace(table, f'{table}"pgh_diff", ').replace(
            ") VALUES (", f") VALUES ({diff}, "
        )
        return func


class Diffing:
    def add_event_trigger(self, event_model):
        pgtrigger.register(
            DiffingTrigger(
                event_model=event_model,
                label=self.label,
                name=self.trigger_name,
                row=self.row,
                operation=self.operation,
                condition=self.condition,
                level=self.level,
            )
        )(event_model.pgh_tracked_model)


class Inserted(Diffing, pghistory.InsertEvent):
    pass


class Updated(Diffing, pghistory.UpdateEvent):
    def __init__(self, label=None):
        # A save that changes nothing but `updated_at` is no event.
        super().__init__(label, condition=pgtrigger.AnyChange(exclude_auto=True))


class Deleted(Diffing, pghistory.DeleteEvent):
    pass


class AuditEvent(pghistory.models.Event):
    """What every event table has, beside the copy of the row."""

    pgh_diff = models.JSONField(null=True, editable=False)

    class Meta:
        abstract = True


def audited(model: type[models.Model], *, name: str = "", trackers=()) -> type[AuditEvent]:
    """The event model of `model`: its writes are recorded from the next migration on."""
    opts = model._meta
    name = name or f"{model.__name__}Event"
    generated = [
        field.name for field in opts.concrete_fields if isinstance(field, models.GeneratedField)
    ]
    return pghistory.create_event_model(
        model,
        *(trackers or (Inserted(), Updated(), Deleted())),
        exclude=generated or None,
        base_model=AuditEvent,
        obj_field=(
            None
            if opts.auto_created
            else pghistory.ObjForeignKey(related_name="audit_events", related_query_name="+")
        ),
        context_field=pghistory.ContextJSONField(),
        context_id_field=pghistory.ContextUUIDField(),
        model_name=name,
        app_label="agreements",
        abstract=False,
        append_only=False,  # our own guard (0012): pgtrigger's can be switched off by a client
        meta={
            "verbose_name": _("audit event"),
            "verbose_name_plural": _("audit events"),
            "indexes": [models.Index(fields=["pgh_created_at"], name=f"{name.lower()}_time")],
        },
    )


AgreementEvent = audited(Agreement)
ClauseEvent = audited(Clause)
TopicEvent = audited(Topic)
PartyEvent = audited(Party)
PersonEvent = audited(Person)
SourceEvent = audited(Source)
ProgrammeEvent = audited(Programme)
FundingSourceEvent = audited(FundingSource)
MilestoneEvent = audited(Milestone)
StatementEvent = audited(Statement)
LinkEvent = audited(Link)
# The parties of an agreement or topic: a party added or removed.
AgreementPartiesEvent = audited(
    Agreement.parties.through,
    name="AgreementPartiesEvent",
    trackers=(Inserted("add"), Deleted("remove")),
)
TopicPartiesEvent = audited(
    Topic.parties.through,
    name="TopicPartiesEvent",
    trackers=(Inserted("add"), Deleted("remove")),
)

# Tracked model -> its event model, for the history pages.
EVENT_MODELS: dict[type[models.Model], type[AuditEvent]] = {
    event_model.pgh_tracked_model: event_model
    for event_model in (
        AgreementEvent,
        ClauseEvent,
        TopicEvent,
        PartyEvent,
        PersonEvent,
        SourceEvent,
        ProgrammeEvent,
        FundingSourceEvent,
        MilestoneEvent,
        StatementEvent,
        LinkEvent,
        AgreementPartiesEvent,
        TopicPartiesEvent,
    )
}
