"""The writers that `make bench` and `make soak` run beside the readers make the changes they
try: a refused change is not a write under load, and the soak fails on any."""

import threading

from bench.writers import Editor


def test_the_soaks_editor_makes_every_change_it_tries(record, editor):
    writer = Editor(
        threading.Event(),
        [editor],
        [record.clause.pk, record.second_clause.pk],
        [record.topic.pk],
        seed=2012,
        every=0,
    )
    for _ in range(30):  # random statuses: signed and agreed among them
        writer.step()
    assert writer.made == 30
    assert record.clause.status_changes.filter(note="soak").exists()
