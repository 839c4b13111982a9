"""The negotiation's pages: a clause's versions and where the parties stand, the redline of
two versions, the position grid as of a day."""

import datetime
import re

import pytest

from agreements import services
from agreements.models import Position

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def compare_url(clause, query: str = "") -> str:
    return f"/clauses/{clause.pk}/compare/{query}"


GRID = "/agreements/exomars-cooperation/positions/"


# The clause page -----------------------------------------------------------------------------


def test_the_clause_page_shows_its_level_versions_and_parties(
    negotiation, record, stakeholder, login
):
    content = login(stakeholder).get(f"/clauses/{record.clause.pk}/").content.decode()
    assert '<span class="badge status-agreed">Agreed</span>' in content
    assert "Version 2" in content and "Version 1" in content
    assert "Counter-proposal" in content
    assert f'href="{compare_url(record.clause)}"' in content
    # Its row of the grid: both parties accept.
    assert content.count("status-stance-accepts") >= 2


def test_the_clause_page_hides_confidential_positions_from_readers(
    negotiation, record, stakeholder, editor, login
):
    negotiation.position(
        record.esa, record.clause, "reserves", None, reservation="substantive", internal=True
    )
    assert (
        "Reserves" not in login(stakeholder).get(f"/clauses/{record.clause.pk}/").content.decode()
    )
    assert (
        "Reserves (substantive)"
        in login(editor).get(f"/clauses/{record.clause.pk}/").content.decode()
    )


# The redline ---------------------------------------------------------------------------------


def test_the_default_comparison_is_of_the_last_two_versions(
    negotiation, record, stakeholder, login
):
    response = login(stakeholder).get(compare_url(record.clause))
    content = response.content.decode()
    assert response.status_code == 200
    assert "From version 1 to version 2" in content
    inserted = re.findall(r"<ins><span[^>]*>\[insertion start\] </span>(.*?)<span", content)
    assert "another for 2018." in "".join(inserted)
    assert "<del>" in content


def test_inserted_deleted_and_moved_words(record, stakeholder, login):
    for text in [
        "ESA helps Roscosmos build the module.",
        "Roscosmos builds the module; ESA helps.",
    ]:
        services.add_clause_version(record.clause, text=text, by=record.editor)
    content = login(stakeholder).get(compare_url(record.clause)).content.decode()
    inserted = re.findall(r"<ins><span[^>]*>[^<]*</span>(.*?)<span", content)
    deleted = re.findall(r"<del><span[^>]*>[^<]*</span>(.*?)<span", content)
    assert "".join(inserted).split() and "".join(deleted).split()
    # "helps" moved to the end: deleted where it was, inserted where it is.
    assert "helps" in "".join(deleted) and "helps" in "".join(inserted)
    assert "build " in "".join(deleted) and "builds" in "".join(inserted)


def test_side_by_side_works_without_javascript(negotiation, record, stakeholder, login):
    content = (
        login(stakeholder)
        .get(compare_url(record.clause, "?from=1&to=2&view=side"))
        .content.decode()
    )
    assert 'class="redline-sides"' in content
    old, new = content.split('id="new-heading"')
    assert "<del>" in old and "<ins>" not in old.split('id="old-heading"')[1]
    assert "<ins>" in new and "<del>" not in new
    # The toggle is two links, the current one marked.
    assert 'aria-current="page">Side by side' in content


def test_reversed_versions_are_compared_oldest_first(negotiation, record, stakeholder, login):
    content = login(stakeholder).get(compare_url(record.clause, "?from=2&to=1")).content.decode()
    assert "From version 1 to version 2" in content


@pytest.mark.parametrize(
    "query", ["?from=abc", "?from=7&to=1", "?to=0", "?from=1e3", "?view=sideways"]
)
def test_bad_versions_are_a_400_saying_why(negotiation, record, stakeholder, login, query):
    response = login(stakeholder).get(compare_url(record.clause, query))
    assert response.status_code == 400
    assert "could not be shown" in response.content.decode()


def test_one_version_has_nothing_to_compare(negotiation, record, stakeholder, login):
    response = login(stakeholder).get(compare_url(record.second_clause))
    assert response.status_code == 200
    assert "nothing to compare" in response.content.decode()


def test_the_comparison_answers_htmx_with_its_fragment(negotiation, record, stakeholder, login):
    content = login(stakeholder).get(compare_url(record.clause), headers=HTMX).content.decode()
    assert "<html" not in content and 'id="comparison"' in content


# The position grid ---------------------------------------------------------------------------


def grid_rows(content: str) -> dict[str, str]:
    """Clause title -> level label, per row of the grid."""
    return dict(
        re.findall(
            r'<th scope="row"><a [^>]*>([^<]+)</a></th>.*?status-[a-z_]+">([^<]+)</span>', content
        )
    )


def test_the_grid_shows_clauses_down_and_parties_across(negotiation, record, stakeholder, login):
    content = login(stakeholder).get(GRID).content.decode()
    assert grid_rows(content) == {"Proton launchers": "Agreed", "Orbiter instruments": "Reserved"}
    assert '<th scope="col">ESA</th>' in content and '<th scope="col">Roscosmos</th>' in content
    assert "Reserves (scrutiny)" in content
    assert "Fallback position" not in content  # the internal clause
    assert 'rel="noopener noreferrer external"' not in content or record.source.url


def test_the_grid_counts_clauses_per_level(negotiation, stakeholder, login):
    content = login(stakeholder).get(GRID).content.decode()
    assert re.search(r"Agreed \(1\)", content) and re.search(r"Reserved \(1\)", content)


def test_the_grid_filters_by_level_and_answers_htmx_with_the_grid(negotiation, stakeholder, login):
    client = login(stakeholder)
    content = client.get(GRID + "?level=reserved", headers=HTMX).content.decode()
    assert "<html" not in content and 'id="grid"' in content
    assert grid_rows(content) == {"Orbiter instruments": "Reserved"}
    # The same address without htmx is the whole page, filtered: a bookmark works.
    page = client.get(GRID + "?level=reserved").content.decode()
    assert "<html" in page and grid_rows(page) == {"Orbiter instruments": "Reserved"}


def test_the_grid_as_it_stood_before_and_after_a_change(negotiation, stakeholder, login):
    client = login(stakeholder)
    before = client.get(GRID + "?as_of=2012-11-12").content.decode()
    assert grid_rows(before) == {"Proton launchers": "Open", "Orbiter instruments": "Open"}
    assert "on version 1" not in before  # version 1 was then the current text
    after = client.get(GRID + "?as_of=2012-11-19").content.decode()
    assert grid_rows(after) == {"Proton launchers": "Agreed", "Orbiter instruments": "Reserved"}


def test_an_acceptance_of_an_earlier_text_is_stale_and_says_so(
    negotiation, record, stakeholder, login
):
    services.add_clause_version(record.clause, text="A third text.", by=record.editor)
    content = login(stakeholder).get(GRID).content.decode()
    assert grid_rows(content)["Proton launchers"] == "Accepted an earlier text"
    assert "on version 2, an earlier text" in content


@pytest.mark.parametrize("query", ["?as_of=2012-02-30", "?as_of=yesterday", "?as_of=9999-01-01"])
def test_a_bad_day_is_a_400(negotiation, stakeholder, login, query):
    response = login(stakeholder).get(GRID + query)
    assert response.status_code == 400


def test_an_unknown_level_is_dropped_with_a_notice(negotiation, stakeholder, login):
    response = login(stakeholder).get(GRID + "?level=nonsense")
    assert response.status_code == 200
    assert "Unknown status ignored." in response.content.decode()


def test_confidential_positions_change_nothing_readers_see(
    negotiation, record, stakeholder, editor, login
):
    negotiation.position(
        record.roscosmos, record.clause, "reserves", None, reservation="substantive", internal=True
    )
    assert grid_rows(login(stakeholder).get(GRID).content.decode())["Proton launchers"] == "Agreed"
    assert grid_rows(login(editor).get(GRID).content.decode())["Proton launchers"] == "Reserved"


def test_the_agreement_page_shows_level_counts_and_links_to_the_grid(
    negotiation, stakeholder, login
):
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert f'href="{GRID}"' in content
    assert '<span class="badge status-agreed">Agreed</span> 1' in content


def test_a_topic_position_is_not_on_the_grid(record, stakeholder, login):
    record.topic.parties.set([record.esa])
    services.record_position(
        record.esa, topic=record.topic, stance=Position.Stance.PROPOSES, by=record.editor
    )
    assert "Proposes" not in login(stakeholder).get(GRID).content.decode()


def test_dates_before_1900_are_refused_not_a_500(stakeholder, login, record):
    assert login(stakeholder).get(GRID + "?as_of=1066-10-14").status_code == 400
    assert datetime.date(1900, 1, 1)


def test_the_grid_downloads_as_it_shows_filtered(negotiation, stakeholder, login):
    response = login(stakeholder).get(GRID + "?level=reserved&format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].split(",")[:3] == ["Ref.", "Clause", "Agreement level"]
    assert len(lines) == 2 and "Orbiter instruments" in lines[1]
    assert "Reserves (scrutiny), 19 Nov 2012, version 1" in lines[1]


def test_the_clause_download_carries_the_level(negotiation, stakeholder, login):
    response = login(stakeholder).get("/agreements/exomars-cooperation/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Agreement level" in text.splitlines()[0]
    assert "Agreed" in text and "Reserved" in text
