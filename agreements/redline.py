"""Word-level comparison of two texts: what a negotiator reads as a redline.

`redline(old, new)` gives the new text as pieces, each kept, inserted or deleted, in reading
order (a replaced run of words is its deletion, then its insertion). Words are compared
without the spaces after them, so a reflowed line is not a change; the pieces keep the
texts' own spacing. `difflib` runs with `autojunk=False`: its heuristic would otherwise
treat a clause's common words ("the", "of", "ESA") as noise past 200 words and report whole
paragraphs as rewritten.

Every page, email and admin history that shows a change of text uses these pieces: inline
through the `redline` template tag, side by side through `sides()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Kind = Literal["same", "inserted", "deleted"]

# A word with the spaces after it; leading spaces belong to no word and are dropped.
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class Piece:
    kind: Kind
    text: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text or "")


def _opcodes(old_words: list[str], new_words: list[str]):
    matcher = SequenceMatcher(
        None, [w.rstrip() for w in old_words], [w.rstrip() for w in new_words], autojunk=False
    )
    return matcher.get_opcodes()


def redline(old: str, new: str) -> list[Piece]:
    """The pieces that turn `old` into `new`, neighbours of one kind joined."""
    old_words, new_words = _words(old), _words(new)
    pieces: list[Piece] = []

    def add(kind: Kind, words: list[str]) -> None:
        if not words:
            return
        text = "".join(words)
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    for tag, i1, i2, j1, j2 in _opcodes(old_words, new_words):
        if tag == "equal":
            add("same", new_words[j1:j2])
        else:
            add("deleted", old_words[i1:i2])
            add("inserted", new_words[j1:j2])
    return pieces


def words_changed(old: str, new: str) -> int:
    """How many words a reader sees changed: a run of three words replaced by three is three."""
    return sum(
        max(i2 - i1, j2 - j1)
        for tag, i1, i2, j1, j2 in _opcodes(_words(old), _words(new))
        if tag != "equal"
    )


def sides(pieces: list[Piece]) -> tuple[list[Piece], list[Piece]]:
    """The old text and the new one, each with its own changes marked, for a side-by-side
    view: the old side keeps what was deleted, the new side what was inserted."""
    old = [piece for piece in pieces if piece.kind != "inserted"]
    new = [piece for piece in pieces if piece.kind != "deleted"]
    return old, new
