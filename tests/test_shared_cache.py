"""CACHE_URL: one Redis shared by every worker and app server, and pages that survive it.

A Redis that does not answer is no cache: pages and the API answer 200, uncached, the outage
is logged once, and the cache is used again when Redis is back. Two cache instances (two
workers, or two app servers) on one Redis see each other's entries.
"""

import logging
import shutil

import pytest
from django.test import Client

from bench.redis_server import RedisServer, free_port
from exomars_site import cache as shared_cache
from exomars_site.cache import ForgivingRedisCache

needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="Debian's redis-server is not installed"
)


def redis_caches(url: str) -> dict:
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    return {
        "default": {
            "BACKEND": "exomars_site.cache.ForgivingRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "pages",
            "TIMEOUT": 600,
            "OPTIONS": options,
        },
        "api-throttle": {
            "BACKEND": "exomars_site.cache.ForgivingRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "api-throttle",
            "OPTIONS": options,
        },
    }


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.mark.django_db
def test_pages_and_the_api_answer_while_redis_is_down(settings, record, stakeholder, caplog):
    settings.CACHES = redis_caches(f"redis://127.0.0.1:{free_port()}/0")
    client = Client()
    client.force_login(stakeholder)
    with caplog.at_level(logging.WARNING, logger="agreements.cache"):
        for path in (
            "/",
            "/agreements/",
            f"/agreements/{record.agreement.slug}/",
            "/search/?q=mars",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
        assert client.get("/api/v1/clauses/").status_code == 200
    outages = [r for r in caplog.records if "does not answer" in r.getMessage()]
    # Logged once per cache (pages, API counts), not once per request.
    assert 1 <= len(outages) <= 2


@pytest.mark.django_db
def test_a_read_is_a_miss_and_a_write_is_dropped_while_redis_is_down():
    cache = ForgivingRedisCache(f"redis://127.0.0.1:{free_port()}/0", {})
    assert cache.get("page", "missing") == "missing"
    cache.set("page", "body")
    assert cache.get_many(["page"]) == {}
    assert cache.add("page", "body") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    with pytest.raises(ValueError):
        cache.incr("count")


@needs_redis
def test_entries_are_shared_between_two_caches_on_one_redis(redis_server):
    first = ForgivingRedisCache(redis_server.url, {"KEY_PREFIX": "pages"})
    second = ForgivingRedisCache(redis_server.url, {"KEY_PREFIX": "pages"})
    first.set("agreement-1", "rendered once")
    assert second.get("agreement-1") == "rendered once"
    second.delete("agreement-1")
    assert first.get("agreement-1") is None


@needs_redis
def test_the_cache_is_used_again_when_redis_returns(redis_server, monkeypatch, caplog):
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0)
    cache = ForgivingRedisCache(redis_server.url, {})
    cache.set("part", "before")
    with caplog.at_level(logging.WARNING, logger="agreements.cache"):
        redis_server.stop()
        assert cache.get("part") is None
        cache.set("part", "during")
        redis_server.start()
        cache.set("part", "after")
        assert cache.get("part") == "after"
    messages = [r.getMessage() for r in caplog.records]
    assert any("does not answer" in m for m in messages)
    assert any("answers again" in m for m in messages)


@pytest.mark.django_db
def test_while_down_redis_is_left_alone_for_a_moment(monkeypatch):
    cache = ForgivingRedisCache(f"redis://127.0.0.1:{free_port()}/0", {})
    attempts = []
    real = cache._cache.get_client

    def counted(*args, **kwargs):
        attempts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache._cache, "get_client", counted)
    for _ in range(10):
        cache.get("part")
    assert len(attempts) == 1


@needs_redis
@pytest.mark.django_db
def test_cache_url_selects_the_shared_cache_for_pages_and_api_counts(redis_server, settings):
    import subprocess
    import sys

    script = (
        "import django; django.setup(); from django.core.cache import caches; "
        "print(type(caches['default']).__name__, type(caches['api-throttle']).__name__)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "exomars_site.settings",
        "CACHE_URL": redis_server.url,
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["ForgivingRedisCache", "ForgivingRedisCache"]
    env.pop("CACHE_URL")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["LocMemCache", "LocMemCache"]


def test_a_cache_url_of_another_kind_refuses_to_start():
    import subprocess
    import sys

    script = "from django.conf import settings; print(settings.STARTUP_REFUSALS)"
    env = {
        "DJANGO_SETTINGS_MODULE": "exomars_site.settings",
        "CACHE_URL": "memcached://127.0.0.1:11211",
        "DEBUG": "1",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "CACHE_URL" in out
