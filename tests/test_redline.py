"""The word-level redline: what changed between two texts of a clause, in reading order."""

from django.template import Context, Template

from agreements.redline import Piece, redline, sides, words_changed


def test_inserted_and_deleted_words_are_marked_in_reading_order():
    pieces = redline("ESA provides the rover.", "ESA provides the rover and the lander.")
    assert pieces == [
        Piece("same", "ESA provides the "),
        Piece("deleted", "rover."),
        Piece("inserted", "rover and the lander."),
    ]


def test_a_replaced_word_is_its_deletion_then_its_insertion():
    pieces = redline("Roscosmos provides two launchers", "Roscosmos provides one launcher")
    assert [piece.kind for piece in pieces] == ["same", "deleted", "inserted"]
    assert pieces[1].text == "two launchers" and pieces[2].text == "one launcher"
    assert words_changed("Roscosmos provides two launchers", "Roscosmos provides one launcher") == 2


def test_a_moved_word_is_deleted_where_it_was_and_inserted_where_it_went():
    pieces = redline("in 2016 the orbiter flies", "the orbiter flies in 2016")
    deleted = "".join(piece.text for piece in pieces if piece.kind == "deleted")
    inserted = "".join(piece.text for piece in pieces if piece.kind == "inserted")
    assert deleted.split() == ["in", "2016"] and inserted.split() == ["in", "2016"]


def test_reflowed_spacing_is_not_a_change():
    assert words_changed("the  rover\nand lander", "the rover and lander") == 0
    assert [piece.kind for piece in redline("a  b", "a b")] == ["same"]


def test_identical_and_empty_texts():
    assert redline("", "") == []
    assert redline("", "new text") == [Piece("inserted", "new text")]
    assert redline("old text", "") == [Piece("deleted", "old text")]
    assert words_changed("same words", "same words") == 0


def test_common_words_of_a_long_text_are_not_taken_for_noise():
    # difflib's autojunk would treat words repeated over 1% of a 200+ word text as junk
    # and report the paragraph as rewritten; one changed word must stay one.
    vocabulary = ["the", "of", "ESA", "Roscosmos", "rover", "and", "launch"]
    words = [vocabulary[(i * i + 3 * i) % len(vocabulary)] for i in range(400)]
    changed = [*words[:200], "orbiter", *words[201:]]
    assert words_changed(" ".join(words), " ".join(changed)) == 1


def test_sides_keep_their_own_changes():
    old_side, new_side = sides(redline("a b c", "a x c"))
    assert "".join(piece.text for piece in old_side) == "a b c"
    assert "".join(piece.text for piece in new_side) == "a x c"
    assert {piece.kind for piece in old_side} == {"same", "deleted"}


def test_the_template_tag_marks_changes_in_words_and_escapes_text():
    html = Template("{% load components %}{% redline old new %}").render(
        Context({"old": "keep <b>this</b>", "new": "keep <i>that</i>"})
    )
    assert "<ins>" in html and "<del>" in html
    assert "insertion start" in html and "deletion end" in html
    assert "<b>" not in html and "&lt;i&gt;that&lt;/i&gt;" in html
