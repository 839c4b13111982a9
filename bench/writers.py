"""Writers that run beside the readers in `make bench` and `make soak`: each a thread with a
database connection of its own, committing as an editor would."""

from __future__ import annotations

import random
import threading


class Loop(threading.Thread):
    """A writer: `step()` every `every` seconds until `stop`, on a database connection of its
    own, errors counted rather than raised."""

    every = 1.0

    def __init__(self, name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self.errors: list[str] = []

    def step(self) -> None:
        raise NotImplementedError

    def run(self):
        from django.db import connection

        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except Exception as error:
                    self.errors.append(self.describe(error))
                self.stop.wait(self.every)
        finally:
            connection.close()

    def describe(self, error: Exception) -> str:
        return f"{type(error).__name__}: {error}"


class Editor(Loop):
    """A status change to a random clause or topic every `every` seconds, with `note`."""

    def __init__(
        self,
        stop: threading.Event,
        editors,
        clause_ids,
        topic_ids,
        seed: int,
        every: float,
        note: str = "soak",
    ):
        super().__init__("editor", stop)
        self.every, self.note = every, note
        self.editors = editors
        self.subjects = [("clause", pk) for pk in clause_ids] + [("topic", pk) for pk in topic_ids]
        self.rng = random.Random(seed)  # noqa: S311
        self.made = 0

    def step(self):
        from agreements.models import Clause, Topic
        from agreements.services import change_status

        kind, pk = self.rng.choice(self.subjects)
        model = {"clause": Clause, "topic": Topic}[kind]
        subject = model.objects.get(pk=pk)
        to = self.rng.choice([s for s in model.Status.values if s != subject.status])
        # A settling status (signed, agreed) needs a source or an explicit "none yet".
        change_status(
            subject, to=to, by=self.rng.choice(self.editors), note=self.note, no_source_yet=True
        )
        self.made += 1


class AgreementEditor(Loop):
    """An editor at work on one agreement, every `every` seconds: a new text for one of its
    clauses, a party's position on that text, a status change of one of its clauses, in
    turn (what `pages_while_editing` has readers read beside, on another agreement)."""

    def __init__(self, stop: threading.Event, editors, agreement_id: int, seed: int, every: float):
        super().__init__("agreement editor", stop)
        self.every = every
        self.editors = editors
        self.agreement_id = agreement_id
        self.rng = random.Random(seed)  # noqa: S311
        self.made = 0
        self.edited = None  # the clause whose text was edited last: positions go on it

    def step(self):
        from agreements.models import Agreement, Clause
        from agreements.services import add_clause_version, change_status, record_position

        by = self.rng.choice(self.editors)
        turn = self.made % 3
        if turn == 1 and self.edited is not None:
            agreement = Agreement.objects.get(pk=self.agreement_id)
            party = self.rng.choice(list(agreement.parties.all()))
            stance = self.rng.choice(["proposes", "accepts", "rejects"])
            record_position(party, clause=self.edited, stance=stance, by=by, note="bench")
        else:
            clauses = Clause.objects.filter(agreement_id=self.agreement_id)
            clause = self.rng.choice(list(clauses.only("pk", "status", "text")))
            if turn == 0:
                add_clause_version(clause, text=f"{clause.text} (edit {self.made})", by=by)
                self.edited = clause
            else:
                to = self.rng.choice([s for s in Clause.Status.values if s != clause.status])
                change_status(clause, to=to, by=by, note="bench", no_source_yet=True)
        self.made += 1
