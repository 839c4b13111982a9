"""A request's bookkeeping in one query (agreements/sessions.py), and nothing kept between
requests: a logout, a password change, a deactivation or a lost reader group takes effect
on the very next request, from whatever worker serves it."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import ReaderSession
from tests.conftest import PASSWORD

DASHBOARD = "/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["stakeholder", "editor"])
@pytest.mark.parametrize("path", ["/", "/agreements/", "/timeline/", "/search/?q=mars"])
def test_a_cached_page_costs_one_query(record, request, role, path, django_assert_num_queries):
    client = logged_in(request.getfixturevalue(role))
    assert client.get(path).status_code == 200
    with django_assert_num_queries(1) as captured:
        assert client.get(path).status_code == 200
    sql = captured.captured_queries[0]["sql"]
    for table in ("agreements_readersession", "auth_user", "agreements_recordversion"):
        assert table in sql


@pytest.mark.django_db
def test_the_api_is_one_query_before_its_own(record, stakeholder, django_assert_num_queries):
    client = logged_in(stakeholder)
    client.get("/api/v1/clauses/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/clauses/").status_code == 200
    session_queries = [q for q in captured if "agreements_readersession" in q["sql"]]
    assert len(session_queries) == 1
    assert not [q for q in captured if q["sql"].lstrip().startswith('SELECT "auth_user"')]


@pytest.mark.django_db
def test_the_session_names_its_user(stakeholder):
    client = logged_in(stakeholder)
    session = ReaderSession.objects.get(session_key=client.session.session_key)
    assert session.user_id == stakeholder.pk


@pytest.mark.django_db
def test_logging_out_ends_the_session_for_every_worker(record, stakeholder):
    client = Client()
    client.post(reverse("login"), {"username": "stakeholder", "password": PASSWORD})
    other = Client()
    other.cookies[client.cookies["sessionid"].key] = client.cookies["sessionid"].value
    assert other.get(DASHBOARD).status_code == 200
    assert other.get(DASHBOARD).status_code == 200  # cached

    client.post(reverse("logout"))

    assert other.get(DASHBOARD).status_code == 302


@pytest.mark.django_db
def test_a_password_changed_elsewhere_ends_the_session_at_the_next_request(record, stakeholder):
    client = logged_in(stakeholder)
    assert client.get(DASHBOARD).status_code == 200
    assert client.get(DASHBOARD).status_code == 200  # cached

    stakeholder.set_password("another long passphrase 2026")
    stakeholder.save()

    assert client.get(DASHBOARD)["Location"].startswith(reverse("login"))
    assert not ReaderSession.objects.filter(user=stakeholder).exists()


@pytest.mark.django_db
def test_a_deactivation_ends_the_session_at_the_next_request(record, stakeholder):
    client = logged_in(stakeholder)
    assert client.get("/agreements/").status_code == 200
    assert client.get("/agreements/").status_code == 200  # cached

    stakeholder.is_active = False
    stakeholder.save()

    assert client.get("/agreements/").status_code == 302


@pytest.mark.django_db
def test_a_lost_reader_group_is_a_403_at_the_next_request(record, stakeholder):
    client = logged_in(stakeholder)
    assert client.get("/agreements/").status_code == 200
    assert client.get("/agreements/").status_code == 200  # cached

    stakeholder.groups.remove(Group.objects.get(name="Stakeholders"))

    assert client.get("/agreements/").status_code == 403
    assert client.get("/api/v1/clauses/").status_code == 403


@pytest.mark.django_db
def test_a_session_whose_column_disagrees_with_its_data_trusts_the_data(
    record, stakeholder, editor
):
    client = logged_in(stakeholder)
    ReaderSession.objects.filter(session_key=client.session.session_key).update(user=editor)
    response = client.get("/agreements/")
    assert response.status_code == 200
    assert response.wsgi_request.user == stakeholder
    assert record.internal_agreement.title not in response.content.decode()
