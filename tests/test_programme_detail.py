"""A programme's funding: every source, and totals derived from them, never typed."""

import pytest

from agreements import services
from agreements.models import Programme, Visibility


def test_it_lists_each_source_with_amount_status_condition_and_decision_date(
    record, stakeholder, login
):
    record.potential.condition = "If the committee agrees"
    record.potential.save()
    content = login(stakeholder).get("/programmes/exomars/").content.decode()
    assert "Science Programme Committee" in content
    assert "EUR 50,000,000" in content
    assert '<span class="badge status-potential">Potential</span>' in content
    assert "If the committee agrees" in content
    assert "February 2013" in content


def test_it_shows_both_uncovered_amounts_from_the_visible_sources(record, stakeholder, login):
    content = login(stakeholder).get("/programmes/exomars/").content.decode()
    programme = Programme.objects.visible_to(stakeholder).with_funding().get(slug="exomars")
    funding = programme.funding
    assert funding.uncovered_if_all_comes_through == 270_000_000
    assert funding.uncovered_counting_secured_only == 320_000_000
    assert (
        "<dt>Uncovered if everything comes through</dt><dd><strong>EUR 270,000,000</strong>"
        in content
    )
    assert (
        "<dt>Uncovered counting only secured money</dt><dd><strong>EUR 320,000,000</strong>"
        in content
    )
    assert "Reserve we do not talk about" not in content


def test_totals_follow_a_status_change(record, stakeholder, login):
    services.change_status(record.potential, to="secured", by=record.editor, source=record.source)
    content = login(stakeholder).get("/programmes/exomars/").content.decode()
    assert "<dt>Secured</dt><dd>EUR 80,000,000</dd>" in content
    assert (
        "<dt>Uncovered counting only secured money</dt><dd><strong>EUR 270,000,000</strong>"
        in content
    )


def test_editors_count_internal_sources(record, editor, login):
    content = login(editor).get("/programmes/exomars/").content.decode()
    assert "Reserve we do not talk about" in content
    assert (
        "<dt>Uncovered if everything comes through</dt><dd><strong>EUR 260,000,000</strong>"
        in content
    )


def test_an_internal_contributor_is_not_named(record, stakeholder, login):
    record.esa.visibility = Visibility.INTERNAL
    record.esa.save()
    content = login(stakeholder).get("/programmes/exomars/").content.decode()
    assert "European Space Agency" not in content and ">ESA<" not in content


def test_an_internal_programme_is_404_for_stakeholders(record, stakeholder, editor, login):
    record.programme.visibility = Visibility.INTERNAL
    record.programme.save()
    assert login(stakeholder).get("/programmes/exomars/").status_code == 404
    assert login(editor).get("/programmes/exomars/").status_code == 200


def test_an_unknown_programme_is_404(record, stakeholder, login):
    assert login(stakeholder).get("/programmes/nope/").status_code == 404


def test_the_funding_bar_is_svg_without_style_attributes(record, stakeholder, login):
    content = login(stakeholder).get("/programmes/exomars/").content.decode()
    svg = content[content.index("<svg") : content.index("</svg>")]
    assert 'aria-labelledby="funding-exomars-label"' in svg
    assert "style=" not in svg
    assert 'class="seg seg-secured" x="0.0" y="0" width="86.0"' in svg  # 30 of 350
    assert "Secured: <strong>EUR 30,000,000</strong> (8.6 %)" in content


def test_htmx_gets_the_funding_fragment(record, stakeholder, login):
    response = login(stakeholder).get("/programmes/exomars/", headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert response.content.decode().strip().startswith('<section id="funding"')
    assert "HX-Request" in response["Vary"]
    boosted = login(stakeholder).get(
        "/programmes/exomars/", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in boosted.content


def test_managers_read_it(record, manager, login):
    assert login(manager).get("/programmes/exomars/").status_code == 200


def test_outsiders_get_403(record, outsider, login):
    assert login(outsider).get("/programmes/exomars/").status_code == 403


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_anonymous_is_sent_to_login(client, record, headers):
    response = client.get("/programmes/exomars/", headers=headers)
    location = response.get("HX-Redirect") or response["Location"]
    assert location.startswith("/accounts/login/")
