"""Topics under discussion: the list and a topic's page."""

import datetime
import re

import pytest

from agreements import services
from agreements.models import Milestone, Statement, Topic, Visibility


def titles_in(content: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/topics/[^"]+/">([^<]+)</a></th>', content)


@pytest.fixture
def lunar(record):
    topic = record.create(
        Topic(title="Lunar robotics", slug="lunar", summary="Potential robotic collaboration")
    )
    topic.parties.set([record.esa, record.roscosmos])
    services.change_status(topic, to="in_discussion", by=record.editor)
    return topic


def test_the_list_shows_shared_topics_with_status_and_next_step(record, lunar, stakeholder, login):
    content = login(stakeholder).get("/topics/").content.decode()
    assert titles_in(content) == ["Juice cooperation", "Lunar robotics"]
    assert '<span class="badge status-in_discussion">In discussion</span>' in content
    assert "ESA, Roscosmos" in content
    assert "Talk" in content


def test_editors_see_internal_topics(record, editor, login):
    assert "Negotiating margin" in titles_in(login(editor).get("/topics/").content.decode())


def test_the_list_filters_by_text_and_status(record, lunar, stakeholder, login):
    client = login(stakeholder)
    assert titles_in(client.get("/topics/?q=robotic").content.decode()) == ["Lunar robotics"]
    assert titles_in(client.get("/topics/?status=proposed").content.decode()) == [
        "Juice cooperation"
    ]
    assert titles_in(client.get("/topics/?q=margin").content.decode()) == []


def test_an_unknown_status_is_ignored_with_a_notice(record, stakeholder, login):
    response = login(stakeholder).get("/topics/?status=signed")  # an agreement status
    assert response.status_code == 200
    assert "Unknown status ignored." in response.content.decode()


@pytest.mark.parametrize("page", ["abc", "999999", "-1"])
def test_odd_page_numbers_are_not_errors(record, stakeholder, login, page):
    response = login(stakeholder).get(f"/topics/?page={page}")
    assert response.status_code == 200
    assert titles_in(response.content.decode()) == ["Juice cooperation"]


def test_htmx_gets_only_the_results(record, stakeholder, login):
    response = login(stakeholder).get("/topics/?q=juice", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<section id="results"')
    assert "HX-Request" in response["Vary"]


def test_the_topic_page_shows_status_next_step_parties_statements_milestones_history(
    record, lunar, stakeholder, login
):
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 21),
        summary="Robots discussed.",
        topic=lunar,
    )
    Milestone.objects.create(
        title="Robotics workshop",
        happens_on=datetime.date(2013, 2, 1),
        precision="month",
        topic=lunar,
    )
    content = login(stakeholder).get("/topics/lunar/").content.decode()
    assert "<dd>In discussion</dd>" in content
    assert "<dd>ESA, Roscosmos</dd>" in content
    assert "Robots discussed." in content
    assert "Robotics workshop" in content and "February 2013" in content
    history = content[content.index('id="history"') :]
    assert '<span class="badge status-in_discussion">In discussion</span>' in history


def test_internal_statements_about_a_topic_are_hidden(record, stakeholder, editor, login):
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 22),
        summary="Not for the readers.",
        topic=record.topic,
        visibility=Visibility.INTERNAL,
    )
    assert "Not for the readers." not in login(stakeholder).get("/topics/juice/").content.decode()
    assert "Not for the readers." in login(editor).get("/topics/juice/").content.decode()


def test_an_internal_topic_is_404_for_stakeholders(record, stakeholder, login):
    assert login(stakeholder).get("/topics/margin/").status_code == 404


def test_an_internal_topic_is_shown_to_editors(record, editor, login):
    assert login(editor).get("/topics/margin/").status_code == 200


def test_managers_read_topics(record, manager, login):
    assert login(manager).get("/topics/juice/").status_code == 200


@pytest.mark.parametrize("url", ["/topics/", "/topics/juice/"])
def test_outsiders_get_403(record, outsider, login, url):
    assert login(outsider).get(url).status_code == 403


@pytest.mark.parametrize("url", ["/topics/", "/topics/juice/"])
def test_anonymous_is_sent_to_login(client, record, url):
    assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.get(url, headers={"HX-Request": "true"})["HX-Redirect"].startswith(
        "/accounts/login/"
    )


def test_htmx_gets_the_topic_history_fragment(record, stakeholder, login):
    response = login(stakeholder).get("/topics/juice/", headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert response.content.decode().strip().startswith('<section id="history"')
    boosted = login(stakeholder).get(
        "/topics/juice/", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in boosted.content
