"""Redis storage, for ``{"type": "redis"}``: shared state for many workers or hosts.

Every SDK key becomes ``<prefix><key>`` (prefix ``"kinde:"`` by default) holding the
value's JSON text, optionally with a TTL so abandoned sessions expire on their own.
Prefix deletion walks the keyspace with ``SCAN`` and a glob-escaped ``MATCH``; never
``KEYS``, which blocks the whole server while it runs.

``redis`` (redis-py) is an optional extra, imported only when a RedisStorage is built,
so ``import kinde_sdk.core.storage`` works without it.

Every call is bounded, and the retry policy is ours, not redis-py's default:

* ``socket_timeout`` (default 5 s) bounds connecting and each reply;
* a **timeout is never retried**: a server that accepts connections and never answers
  (a "black hole") costs one ``socket_timeout``, where redis-py's default policy
  (three retries with backoff, each on a new connection) made one ``get()`` take 15 s at
  ``socket_timeout=1`` and about a minute at the defaults;
* a broken or refused connection (redis restarted, an idle pooled connection reset) is
  retried ``retries`` times (default 1) after a short jittered backoff (at most 0.5 s).

So one call takes at most ``(1 + retries) * 2 * socket_timeout + 0.5`` seconds. A
``client=`` handed in keeps its own settings: configure it the same way.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, Optional

from ...errors import KindeConfigurationError
from ._backend import StorageBackend, check_key, check_ttl, decode_value, encode_value
from ._errors import StorageCorruptedError, StorageError

__all__ = ["DEFAULT_PREFIX", "RedisStorage"]

DEFAULT_PREFIX = "kinde:"
# Same defaults as redis-py's, written down so that no call can hang without a bound.
DEFAULT_SOCKET_TIMEOUT = 5.0
# Retries after a connection error (never after a timeout); see the module docstring.
DEFAULT_RETRIES = 1
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 0.5
_SCAN_BATCH = 500
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def _glob_escape(text: str) -> str:
    """Escape text for a redis MATCH pattern, so a prefix like ``a*`` matches literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise KindeConfigurationError(
            "the redis storage backend needs the 'redis' package: pip install 'kinde-sdk[redis]'"
        ) from None
    return redis


def _retry_policy(redis: Any, retries: int) -> dict[str, Any]:
    """redis-py client options for our retry policy: connection errors only, never a
    timeout (redis-py's TimeoutError is not a ConnectionError), jittered backoff."""
    from redis.backoff import EqualJitterBackoff
    from redis.retry import Retry

    connection_error = redis.exceptions.ConnectionError
    return {
        "retry": Retry(
            EqualJitterBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE),
            retries,
            supported_errors=(connection_error,),
        ),
        "retry_on_error": [connection_error],
    }


class RedisStorage(StorageBackend):
    """Keys under ``prefix`` in one redis database.

    Connect with ``url`` (``redis://``, ``rediss://``, ``unix://``) *or* ``host``/
    ``port``/``db`` (plus ``username``/``password``/``ssl``), or hand over an existing
    redis-py ``client``. ``ttl`` (seconds) is set on every write when given.
    ``socket_timeout`` bounds connecting and each reply; ``retries`` is how often a
    broken connection is retried (timeouts never are); see the module docstring.
    """

    def __init__(
        self,
        *,
        url: Optional[str] = None,
        host: Optional[str] = None,
        port: Optional[int] = None,
        db: Optional[int] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        ssl: bool = False,
        prefix: str = DEFAULT_PREFIX,
        ttl: Optional[int] = None,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        client: Any = None,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            # An empty prefix would make delete_prefix("") wipe keys the SDK never wrote.
            raise KindeConfigurationError("redis storage prefix must be a non-empty string")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
            raise KindeConfigurationError("redis storage ttl must be a positive whole number")
        if isinstance(socket_timeout, bool) or not isinstance(socket_timeout, (int, float)):
            raise KindeConfigurationError("redis storage socket_timeout must be a number")
        if socket_timeout <= 0:
            raise KindeConfigurationError("redis storage socket_timeout must be positive")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise KindeConfigurationError("redis storage retries must be a whole number >= 0")
        for name, value, kind in (
            ("url", url, str),
            ("host", host, str),
            ("username", username, str),
            ("password", password, str),
            ("port", port, int),
            ("db", db, int),
        ):
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise KindeConfigurationError(
                    f"redis storage option {name!r} must be {kind.__name__}, "
                    f"not {type(value).__name__}"
                )
        if not isinstance(ssl, bool):
            raise KindeConfigurationError("redis storage option 'ssl' must be a bool")
        self._prefix = prefix
        self._ttl = ttl

        redis = _import_redis()
        self._redis_error: type[Exception] = redis.exceptions.RedisError
        connection: dict[str, Any] = {
            "host": host,
            "port": port,
            "db": db,
            "username": username,
            "password": password,
        }
        given = [name for name, value in connection.items() if value is not None]
        if ssl:
            given.append("ssl")
        if client is not None:
            if url is not None or given:
                raise KindeConfigurationError(
                    "redis storage takes either client or connection options, not both"
                )
            self._client = client
            # A client handed in belongs to the caller, who decides when to close it.
            self._owns_client = False
            return
        self._owns_client = True
        timeouts = {
            "socket_timeout": float(socket_timeout),
            "socket_connect_timeout": float(socket_timeout),
            **_retry_policy(redis, retries),
        }
        if url is not None:
            if given:
                raise KindeConfigurationError(
                    f"redis storage takes either url or {'/'.join(given)}, not both: "
                    "put them in the url"
                )
            try:
                self._client = redis.Redis.from_url(url, **timeouts)
            except ValueError:
                # Not redis-py's text: a URL can hold a password and its errors may echo parts.
                raise KindeConfigurationError(
                    "invalid redis storage url: expected redis://[[user]:password@]host"
                    "[:port][/db], rediss://... or unix://path"
                ) from None
            return
        self._client = redis.Redis(
            host=host or "localhost",
            port=6379 if port is None else port,
            db=0 if db is None else db,
            username=username,
            password=password,
            ssl=ssl,
            **timeouts,
        )

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def client(self) -> Any:
        """The redis-py client, for health checks or sharing its connection pool."""
        return self._client

    def __repr__(self) -> str:
        # No URL, host or password: a URL can carry credentials.
        return f"RedisStorage(prefix={self._prefix!r}, ttl={self._ttl!r})"

    @contextlib.contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        """Turn redis-py errors into StorageError.

        redis error texts describe the connection or the command's failure (for example
        "Connection refused"), not its arguments, so they are kept for diagnosis.
        """
        try:
            yield
        except self._redis_error as exc:
            raise StorageError(f"redis {operation} failed: {type(exc).__name__}: {exc}") from exc

    def get(self, key: str) -> Any:
        check_key(key)
        name = self._prefix + key
        with self._call("GET"):
            raw = self._client.get(name)
        if raw is None:
            return None
        try:
            return decode_value(raw)
        except ValueError:
            raise StorageCorruptedError(f"redis key {name!r}", "value is not JSON") from None

    def set(self, key: str, value: Any) -> None:
        check_key(key)
        text = encode_value(key, value)
        with self._call("SET"):
            self._client.set(self._prefix + key, text, ex=self._ttl)

    def set_expiring(self, key: str, value: Any, ttl: float) -> None:
        """SET with PX: redis removes the key by itself when ``ttl`` runs out."""
        check_key(key)
        millis = max(1, int(check_ttl(ttl) * 1000))
        text = encode_value(key, value)
        with self._call("SET"):
            self._client.set(self._prefix + key, text, px=millis)

    def touch(self, key: str, ttl: float) -> None:
        """PEXPIRE: an idle timeout refreshed on use (a missing key stays missing)."""
        check_key(key)
        millis = max(1, int(check_ttl(ttl) * 1000))
        with self._call("PEXPIRE"):
            self._client.pexpire(self._prefix + key, millis)

    def delete(self, key: str) -> None:
        check_key(key)
        with self._call("DEL"):
            self._client.delete(self._prefix + key)

    def _scan(self, prefix: str) -> Iterator[bytes]:
        pattern = _glob_escape(self._prefix + prefix) + "*"
        yield from self._client.scan_iter(match=pattern, count=_SCAN_BATCH)

    def keys(self, prefix: str = "") -> list[str]:
        start = len(self._prefix)
        with self._call("SCAN"):
            found = [k.decode("utf-8") if isinstance(k, bytes) else k for k in self._scan(prefix)]
        return sorted({k[start:] for k in found})

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        batch: list[bytes] = []
        with self._call("SCAN/DEL"):
            # Deleting while scanning is fine: SCAN still returns every key that exists
            # for the whole iteration, and a deleted key is simply not seen again.
            for name in self._scan(prefix):
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    removed += int(self._client.delete(*batch))
                    batch.clear()
            if batch:
                removed += int(self._client.delete(*batch))
        return removed

    def close(self) -> None:
        """Close the connection pool, unless the client was handed in by the caller."""
        if self._owns_client:
            with self._call("close"):
                self._client.close()
