"""The shared page cache (`CACHE_URL=redis://…`), which a Redis outage turns into no cache.

Django's Redis backend raises when Redis does not answer, so every page (and the API's rate
limit) would answer 500. The cache only ever holds copies of what PostgreSQL has: losing it
costs speed, not correctness. `ForgivingRedisCache` answers a read as a miss and drops a
write while Redis is away, logs the outage once when it starts and once when it ends, and
leaves Redis alone for `RETRY_SECONDS` after a failure, so that requests are not each slowed
by a connection attempt that will fail.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("agreements.cache")

# After a failure, requests skip Redis for this long; then one tries again.
RETRY_SECONDS = 5.0

# What each operation answers while Redis is away: a miss, or a write that did not happen.
MISSES = {
    "get": lambda key, default=None, *args, **kwargs: default,
    "get_many": lambda *args, **kwargs: {},
    "has_key": lambda *args, **kwargs: False,
    "add": lambda *args, **kwargs: False,
    "set": lambda *args, **kwargs: None,
    "set_many": lambda data, *args, **kwargs: list(data),
    "touch": lambda *args, **kwargs: False,
    "delete": lambda *args, **kwargs: False,
    "delete_many": lambda *args, **kwargs: None,
    "clear": lambda *args, **kwargs: None,
    "incr": lambda key, *args, **kwargs: _missing(key),
}


def _missing(key):
    # What `incr` says of a key the cache does not hold (and `decr` goes through `incr`).
    raise ValueError(f"Key '{key}' not found.")


class ForgivingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down = False
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _failed(self, operation: str, error: Exception) -> None:
        with self._lock:
            if not self._down:
                logger.warning(
                    "The shared cache (Redis) does not answer (%s: %s); pages are served "
                    "uncached until it does.",
                    operation,
                    type(error).__name__,
                )
            self._down = True
            self._down_until = time.monotonic() + RETRY_SECONDS

    def _answered(self) -> None:
        with self._lock:
            if self._down:
                logger.warning("The shared cache (Redis) answers again.")
            self._down = False

    @property
    def available(self) -> bool:
        """False while Redis is taken to be away (after a failure, for RETRY_SECONDS)."""
        return not (self._down and time.monotonic() < self._down_until)


def _forgiving(operation: str):
    from redis.exceptions import ConnectionError, TimeoutError

    errors = (ConnectionError, TimeoutError, OSError)
    method = getattr(RedisCache, operation)
    miss = MISSES[operation]

    def call(self, *args, **kwargs):
        if not self.available:
            return miss(*args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except errors as error:
            self._failed(operation, error)
            return miss(*args, **kwargs)
        if self._down:
            self._answered()
        return result

    call.__name__ = operation
    call.__doc__ = method.__doc__
    return call


for _operation in MISSES:
    setattr(ForgivingRedisCache, _operation, _forgiving(_operation))
