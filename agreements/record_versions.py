"""Which cached pages a write makes out of date: the one place that says it, table by table.

Every table a reader page shows has a trigger, `agreements_record_changed` (migration 0007,
given its arguments in 0023), deferred to commit. It bumps:

- the whole record's version (`RecordVersion`), once per transaction, first: the pages that
  show everything (dashboard, lists, timeline, search, briefing) are cached under it;
- the version of each subject (`SubjectVersion`) the row belongs to, once per transaction
  and subject: an agreement, a topic or a programme, whose pages are cached under it, or
  `common` for what every record page shows (parties, people, sources, editors' names).

`SUBJECTS` says, for each table, which columns name the subjects of a row, as pairs of
(kind, column). Besides the kinds of `SubjectVersion`, a column may name a clause, a
funding source or a milestone: the trigger bumps what that record belongs to (the clause's
agreement; the funding source's programme; the milestone's agreement, topic or programme).
On an update, the subjects of the old row and of the new one are bumped, so a clause moved
to another agreement leaves both agreements' pages out of date.

A record page also shows the records linked to it (issue 12: "Waiting on", "Holds up", the
path to signature, packages), so a change to a record reaches the pages of the records its
links lead to (`agreements_linked_records`): its neighbours either way, on through blockers
to what they hold up, and through packages, however far. A kind names the record that
changed, whose links are followed; `agreement_page` and `topic_page` name only the page a
row shows on (a clause's title is not what a linked record's panel shows of its agreement).

A table added later that pages show gets one entry here and, in its migration::

    from agreements import record_versions

    operations = [..., record_versions.watch("agreements_link")]

A trigger without arguments (0007's, or a migration that copied it) still works: it bumps
the whole record and `common`, so every page is rebuilt. tests/test_record_cache.py fails
while a record table is not in `SUBJECTS` or its trigger disagrees with it.

Bumping the whole record first takes its row lock before any subject's, in every
transaction: writers queue on it for the instant their commit lasts, and never deadlock on
two subjects taken in opposite orders. A transaction that touches more than a few dozen
subjects (an import, the bench's generator) bumps `common` instead, once, and every record
page is rebuilt; the bookkeeping of the subjects already bumped stays small.
"""

from __future__ import annotations

from django.db import migrations

TRIGGER = "agreements_record_changed"
EVENTS = "INSERT OR UPDATE OR DELETE"
# Pages show who recorded a change by name; a login (last_login) changes nothing shown.
USER_EVENTS = "UPDATE OF username, first_name, last_name"
COMMON = (("common", ""),)

# The five kinds of record a link joins (agreements/models/links.py, `Link`): each side is
# a foreign key named after its kind, `to_` before it on the other side.
LINKED_KINDS = ("agreement", "clause", "topic", "funding_source", "milestone")

SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    # The programme's page lists its agreements with their statuses.
    "agreements_agreement": (("agreement", "id"), ("programme", "programme_id")),
    "agreements_agreement_parties": (("agreement_page", "agreement_id"),),
    "agreements_clause": (("agreement_page", "agreement_id"), ("clause", "id")),
    "agreements_clauseversion": (("clause", "clause_id"),),
    "agreements_position": (("clause", "clause_id"), ("topic", "topic_id")),
    "agreements_statuschange": (
        ("agreement", "agreement_id"),
        ("clause", "clause_id"),
        ("topic", "topic_id"),
        ("funding_source", "funding_source_id"),
    ),
    "agreements_fundingsource": (("programme", "programme_id"), ("funding_source", "id")),
    "agreements_milestone": (
        ("agreement_page", "agreement_id"),
        ("topic_page", "topic_id"),
        ("programme", "programme_id"),
        ("milestone", "id"),
    ),
    "agreements_statement": (("agreement_page", "agreement_id"), ("topic_page", "topic_id")),
    "agreements_topic": (("topic", "id"),),
    "agreements_topic_parties": (("topic_page", "topic_id"),),
    "agreements_programme": (("programme", "id"),),
    # A link shows on the pages of both its records, and changes what holds up those
    # its records hold up.
    "agreements_link": tuple(
        (kind, f"{prefix}{kind}_id") for prefix in ("", "to_") for kind in LINKED_KINDS
    ),
    "agreements_party": COMMON,
    "agreements_person": COMMON,
    "agreements_source": COMMON,
    "auth_user": COMMON,
}
# Kinds a column may name: a subject itself, or a record that belongs to subjects.
KINDS = {*LINKED_KINDS, "programme", "common", "agreement_page", "topic_page"}
# Subjects a transaction bumps one by one before it bumps `common` instead (the bookkeeping,
# " agreement:12 topic:7 …", is searched for each row the transaction wrote).
MAX_SUBJECTS = 64

OTHER_SIDE = ",\n        ".join(f"('{kind}', link.{{prefix}}{kind}_id)" for kind in LINKED_KINDS)
# The records one step along the links from a record reached `way` (`Link.kind` values):
# from the record changed ('start'), every record linked to it either way ('neighbour': its
# panels show this one's state), on through blockers to what they hold up ('up': a path to
# signature shows the whole chain) and through packages ('package': each member's page
# counts the agreed ones). A neighbour is not followed further.
WAITS_ON = """
    SELECT other.kind, other.id,
        CASE WHEN link.kind = 'package' THEN 'package' ELSE 'neighbour' END
    FROM agreements_link AS link, LATERAL (VALUES
        {other_side}
    ) AS other (kind, id)
    WHERE $1 = '{kind}' AND link.{kind}_id = $2 AND other.id IS NOT NULL
      AND ($3 = 'start' OR $3 = 'package' AND link.kind = 'package')"""
HOLDS_UP = """
    SELECT other.kind, other.id, CASE link.kind
        WHEN 'package' THEN 'package' WHEN 'blocked_by' THEN 'up' ELSE 'neighbour' END
    FROM agreements_link AS link, LATERAL (VALUES
        {other_side}
    ) AS other (kind, id)
    WHERE $1 = '{kind}' AND link.to_{kind}_id = $2 AND other.id IS NOT NULL
      AND ($3 = 'start' OR link.kind = CASE $3
          WHEN 'package' THEN 'package' WHEN 'up' THEN 'blocked_by' END)"""
LINKED_FUNCTION = """
CREATE OR REPLACE FUNCTION agreements_linked_records(kind text, id bigint, way text)
RETURNS TABLE (kind text, id bigint, way text) AS $$
{branches}
$$ LANGUAGE sql STABLE;
""".format(
    branches="\n    UNION ALL".join(
        template.format(kind=kind, other_side=OTHER_SIDE.format(prefix=other))
        for kind in LINKED_KINDS
        for template, other in ((WAITS_ON, "to_"), (HOLDS_UP, ""))
    )
)

# The subjects whose pages show a record of `kind`, looked up at commit (the record as
# committed): the subjects it belongs to, and those of the records linked to it
# (`agreements_linked_records`), however far along blockers and packages. In PL/pgSQL for
# its plan, kept for the session: planned at each call, it cost 1.8 ms a row.
SUBJECTS_OF_FUNCTION = """
CREATE OR REPLACE FUNCTION agreements_version_subjects(kind text, id bigint)
RETURNS TABLE (subject_kind text, subject_id bigint) AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE reached (kind, id, way) AS (
        SELECT $1, $2, 'start' WHERE $2 IS NOT NULL
        UNION
        SELECT next.kind, next.id, next.way
            FROM reached, agreements_linked_records(reached.kind, reached.id, reached.way)
                AS next
    ), record AS (
        SELECT DISTINCT reached.kind, reached.id FROM reached
    )
    SELECT record.kind, record.id FROM record
        WHERE record.kind IN ('agreement', 'topic', 'programme')
    UNION ALL
    SELECT replace($1, '_page', ''), $2
        WHERE $1 IN ('agreement_page', 'topic_page') AND $2 IS NOT NULL
    UNION ALL
    SELECT 'common', 0 WHERE $1 = 'common'
    UNION ALL
    SELECT 'agreement', clause.agreement_id
        FROM record JOIN agreements_clause AS clause ON clause.id = record.id
        WHERE record.kind = 'clause'
    UNION ALL
    SELECT 'programme', funding.programme_id
        FROM record JOIN agreements_fundingsource AS funding ON funding.id = record.id
        WHERE record.kind = 'funding_source'
    UNION ALL
    SELECT subject.kind, subject.id
        FROM record JOIN agreements_milestone AS milestone ON milestone.id = record.id,
        LATERAL (VALUES ('agreement', milestone.agreement_id), ('topic', milestone.topic_id),
                        ('programme', milestone.programme_id)) AS subject (kind, id)
        WHERE record.kind = 'milestone' AND subject.id IS NOT NULL
    UNION ALL
    -- A kind this function does not know: every record page, rather than a stale one.
    SELECT 'common', 0 WHERE $1 NOT IN ({kinds});
END;
$$ LANGUAGE plpgsql STABLE;
""".format(kinds=", ".join(f"'{kind}'" for kind in sorted(KINDS)))  # noqa: S608 (constants)

# `agreements.versions_bumped` is the transaction's bookkeeping: " record agreement:12 …",
# or " all " once `common` is bumped (every record page is then out of date: nothing more to
# do). It is transaction-local and undone with the savepoint that set it, like the bumps.
# A session that reads its own writes through the cache before committing, as the test
# suite does, sets `agreements.bump_each_change` to on: every row bumps, nothing is skipped.
FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
DECLARE
    each_change boolean := current_setting('agreements.bump_each_change', true) = 'on';
    bumped text := coalesce(current_setting('agreements.versions_bumped', true), '');
    rows jsonb[] := '{{}}';
    one_row jsonb;
    i integer;
    subject record;
    bump_kind text;
    bump_id bigint;
    token text;
BEGIN
    each_change := coalesce(each_change, false);
    IF NOT each_change AND bumped = ' all ' THEN
        RETURN NULL;
    END IF;
    IF each_change OR bumped = '' THEN
        -- First, and once: the lock every writer takes before any subject's.
        INSERT INTO agreements_recordversion (id, number) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET number = agreements_recordversion.number + 1;
        bumped := ' record ';
    END IF;
    IF TG_OP <> 'INSERT' THEN
        rows := rows || to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        rows := rows || to_jsonb(NEW);
    END IF;
    <<subjects>>
    FOREACH one_row IN ARRAY rows LOOP
        -- No arguments: a table nobody said the subjects of; every record page.
        FOR i IN 0 .. greatest(TG_NARGS, 1) - 1 BY 2 LOOP
            FOR subject IN
                SELECT * FROM agreements_version_subjects(
                    CASE WHEN TG_NARGS = 0 THEN 'common' ELSE TG_ARGV[i] END,
                    CASE WHEN TG_NARGS = 0 OR TG_ARGV[i + 1] = '' THEN 0
                         ELSE (one_row ->> TG_ARGV[i + 1])::bigint END
                )
            LOOP
                bump_kind := subject.subject_kind;
                bump_id := subject.subject_id;
                token := bump_kind || ':' || bump_id;
                CONTINUE WHEN NOT each_change AND position(' ' || token || ' ' IN bumped) > 0;
                -- The tokens so far, " record" included (counted only for a new one).
                IF NOT each_change
                   AND length(bumped) - length(replace(bumped, ' ', '')) > {MAX_SUBJECTS + 1} THEN
                    bump_kind := 'common';
                    bump_id := 0;
                END IF;
                INSERT INTO agreements_subjectversion (kind, subject_id, number)
                    VALUES (bump_kind, bump_id, 1)
                    ON CONFLICT (kind, subject_id)
                    DO UPDATE SET number = agreements_subjectversion.number + 1;
                IF bump_kind = 'common' THEN
                    bumped := ' all ';
                    EXIT subjects WHEN NOT each_change;
                ELSE
                    bumped := bumped || token || ' ';
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    IF NOT each_change THEN
        PERFORM set_config('agreements.versions_bumped', bumped, true);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""  # noqa: S608 (this module's constants, no input)

CREATE_TRIGGER = """
CREATE CONSTRAINT TRIGGER {trigger} AFTER {events} ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {trigger}({arguments});
"""


def trigger_arguments(table: str) -> list[str]:
    return [value for pair in SUBJECTS.get(table, ()) for value in pair]


def create_trigger(table: str, arguments: list[str] | None = None) -> str:
    """The trigger of `table`, with the subjects `SUBJECTS` names for it, or those that
    `arguments` gives (a migration restoring an earlier set)."""
    values = trigger_arguments(table) if arguments is None else arguments
    listed = ", ".join(f"'{value}'" for value in values)
    events = USER_EVENTS if table == "auth_user" else EVENTS
    return CREATE_TRIGGER.format(trigger=TRIGGER, events=events, table=table, arguments=listed)


def drop_trigger(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table};"


def install(schema_editor, tables) -> None:
    """(Re)create the trigger of each table in `tables` with its subjects."""
    for table in tables:
        schema_editor.execute(drop_trigger(table), params=None)
        schema_editor.execute(create_trigger(table), params=None)


def watch(table: str) -> migrations.RunPython:
    """A migration operation: writes to `table` bump the versions `SUBJECTS` names for it."""

    def forwards(apps, schema_editor):
        install(schema_editor, [table])

    def backwards(apps, schema_editor):
        schema_editor.execute(drop_trigger(table), params=None)

    return migrations.RunPython(forwards, backwards)
