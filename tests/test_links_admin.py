"""Links are recorded in the admin, on each record's page: two inlines, saved together."""

import datetime

from agreements import services
from agreements.models import Link, LinkKind, Visibility
from tests.test_admin import management_form, url


def topic_form(topic, **inlines) -> dict:
    return {
        "title": topic.title,
        "slug": topic.slug,
        "summary": topic.summary,
        "next_step": topic.next_step,
        "visibility": topic.visibility,
        "status": topic.status,
        "initial-status": topic.status,
        **management_form("status_changes"),
        **management_form("links"),
        **management_form("incoming_links"),
        **inlines,
    }


def link_row(prefix: str, index: int, kind: str, other: str, **fields) -> dict:
    row = {
        "kind": kind,
        "other": other,
        "condition": "",
        "lag_days": "0",
        "linked_on": "2012-11-20",
        "note": "",
        "source": "",
        "visibility": Visibility.SHARED,
        **fields,
    }
    return {f"{prefix}-{index}-{name}": value for name, value in row.items()} | {
        f"{prefix}-TOTAL_FORMS": str(index + 1)
    }


def test_an_editor_records_a_blocker_on_the_record_page(record, login, editor):
    data = topic_form(
        record.topic,
        **link_row("links", 0, "blocked_by", f"funding_source:{record.potential.pk}",
                   note="Only with the committee's money."),
    )  # fmt: skip
    response = login(editor).post(url("topic_change", record.topic.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    link = Link.objects.get()
    assert (link.topic, link.kind, link.to_funding_source) == (
        record.topic,
        LinkKind.BLOCKED_BY,
        record.potential,
    )
    assert link.condition == Link.Condition.FUNDING_SECURED
    assert link.recorded_by == editor
    assert link.linked_on == datetime.date(2012, 11, 20)


def test_a_condition_that_does_not_fit_is_a_form_error(record, login, editor):
    data = topic_form(
        record.topic,
        **link_row("links", 0, "blocked_by", f"funding_source:{record.potential.pk}",
                   condition="topic_agreed"),
    )  # fmt: skip
    response = login(editor).post(url("topic_change", record.topic.pk), data)
    assert response.status_code == 200
    assert "is lifted only when" in response.content.decode()
    assert not Link.objects.exists()


def test_a_cycle_across_the_two_inlines_is_refused_with_its_name(record, login, editor):
    # The topic is blocked by the agreement, and holds up the agreement: a circle.
    data = topic_form(
        record.topic,
        **link_row("links", 0, "blocked_by", f"agreement:{record.agreement.pk}"),
        **link_row("incoming_links", 0, "blocked_by", f"agreement:{record.agreement.pk}"),
    )
    response = login(editor).post(url("topic_change", record.topic.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "go round in a circle" in page
    assert "ExoMars cooperation → Juice cooperation → ExoMars cooperation" in page or (
        "Juice cooperation → ExoMars cooperation → Juice cooperation" in page
    )
    assert not Link.objects.exists()


def test_a_cycle_with_a_saved_link_is_refused(record, login, editor):
    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.topic, by=editor)
    data = topic_form(
        record.topic, **link_row("links", 0, "blocked_by", f"agreement:{record.agreement.pk}")
    )
    response = login(editor).post(url("topic_change", record.topic.pk), data)
    assert response.status_code == 200
    assert "go round in a circle" in response.content.decode()
    assert Link.objects.count() == 1


def test_an_unknown_record_is_a_form_error_not_a_500(record, login, editor):
    data = topic_form(record.topic, **link_row("links", 0, "blocked_by", "topic:abc"))
    response = login(editor).post(url("topic_change", record.topic.pk), data)
    assert response.status_code == 200
    assert not Link.objects.exists()


def test_every_record_page_shows_both_link_inlines(record, login, editor):
    client = login(editor)
    for name, pk in [
        ("agreement_change", record.agreement.pk),
        ("clause_change", record.clause.pk),
        ("topic_change", record.topic.pk),
        ("fundingsource_change", record.potential.pk),
        ("milestone_change", record.milestone.pk),
    ]:
        response = client.get(url(name, pk))
        assert response.status_code == 200
        prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
        assert {"links", "incoming_links"} <= prefixes, name


def test_a_cycle_closed_by_another_editor_meanwhile_is_told_not_a_500(
    record, login, editor, monkeypatch
):
    """The form found no cycle, but another editor's link closed one before this save took
    the lock: `record_links` refuses it; nothing is saved and the editor is told why."""

    def refuse(*args, **kwargs):
        raise services.LinkError("this would close a circle: Juice → ExoMars → Juice")

    monkeypatch.setattr(services, "record_links", refuse)
    data = topic_form(
        record.topic,
        **link_row("links", 0, "blocked_by", f"funding_source:{record.potential.pk}"),
        summary="A summary that must not be saved either.",
    )
    client = login(editor)
    response = client.post(url("topic_change", record.topic.pk), data, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved" in page and "close a circle" in page
    assert not Link.objects.exists()
    record.topic.refresh_from_db()
    assert record.topic.summary != "A summary that must not be saved either."
