"""A restarted PostgreSQL costs failed requests for a moment, not a dead app."""

import psycopg
import pytest
from django.db import close_old_connections, connection


def kill_backend(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_the_next_request_after_a_lost_connection_succeeds(client):
    assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    kill_backend(pid)
    # Django checks persistent connections at each request's start (the test client
    # leaves that signal out, so say it here): the dead one is found and replaced.
    close_old_connections()

    assert client.get("/healthz").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
