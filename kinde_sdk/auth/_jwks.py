"""The JSON Web Key Set of a Kinde domain, fetched once and kept ready to verify with.

Why it looks like this:

* Keys are parsed once per fetch into :class:`jwt.PyJWK` objects (one per kid and
  algorithm), so verifying a token never builds a key. A refetch that returns the same JWK
  reuses the same object, which lets the verified-token cache recognise "same key".
* Keys live for ``ttl`` seconds. A token whose ``kid`` is unknown may trigger a refetch,
  but fetches start at most once per ``cooldown`` seconds (as panva/jose
  ``createRemoteJWKSet`` does): key rotation is picked up within seconds, while a flood
  of tokens with made-up kids costs at most one request per cooldown.
* A failed refetch (network error, non-200, not a JWKS) keeps the cached keys in service:
  an outage of the key endpoint must not log everyone out.
* Failures back off: after *n* failed fetches in a row the next one waits
  ``max(cooldown, d)``, ``d`` growing from ``cooldown`` doubling up to
  :data:`JWKS_FAILURE_BACKOFF_MAX`, with jitter (uniform in [d/2, d]), so that workers
  that failed together do not all retry together. A failure is shared: every caller
  that waited for the failed fetch, and every caller until the next attempt is allowed,
  gets its error (or the cached keys) without a request of its own.
* A key that a refetch no longer lists stays trusted until ``ttl`` after a JWKS last
  listed it, so a rotation picked up through an unknown kid does not instantly reject
  the still-valid tokens signed with the previous key.
* One fetch at a time: threads that need keys while a fetch is in flight wait for it,
  except when the cached keys are merely past their TTL: then only the refreshing thread
  waits, and the others go on with the stale keys.
* Keys whose ``alg`` is not allowed, whose ``use`` is not ``sig``, whose ``key_ops`` do not
  include ``verify``, or that carry private or symmetric material are ignored.

Parsing and the fetch schedule are pure (:func:`parse_jwks`, :class:`KeySet`,
:func:`keyset_from_response`, :class:`JWKSCacheCore`); :class:`JWKSCache` is the
synchronous I/O shell around them, and
:class:`~kinde_sdk.auth.async_token_validator.AsyncJWKSCache` the asynchronous one.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar, cast

import jwt
from jwt import PyJWK

from .._retry import failure_backoff
from .._transport import Transport, url_for_log
from ..errors import InvalidAlgorithmError, JWKSFetchError, KindeConnectionError, UnknownKeyError
from ._jwt_core import show

logger = logging.getLogger("kinde_sdk")

DEFAULT_JWKS_TTL = 3600.0
DEFAULT_JWKS_COOLDOWN = 30.0
# The longest wait between fetches while the key endpoint keeps failing.
JWKS_FAILURE_BACKOFF_MAX = 120.0
JWKS_PATH = "/.well-known/jwks.json"

# Members that only private or symmetric keys have; a public JWKS never needs them.
_SECRET_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGORITHM_BY_CURVE = {
    "P-256": "ES256",
    "P-384": "ES384",
    "P-521": "ES512",
    "secp256k1": "ES256K",
}


def _algorithms_for(jwk: Mapping[str, Any]) -> frozenset[str]:
    """Algorithms a JWK without ``alg`` can serve, from its key type and curve."""
    kty = jwk.get("kty")
    if kty == "RSA":
        return _RSA_ALGORITHMS
    if kty == "EC":
        alg = _EC_ALGORITHM_BY_CURVE.get(str(jwk.get("crv")))
        return frozenset({alg}) if alg else frozenset()
    if kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448"):
        return frozenset({"EdDSA"})
    return frozenset()


def _usable_for_signatures(jwk: Mapping[str, Any]) -> bool:
    use = jwk.get("use")
    if use is not None and use != "sig":
        return False
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return False
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return False
    return not (_SECRET_MEMBERS & jwk.keys())


def _build_key(jwk: dict[str, Any], alg: str) -> Optional[PyJWK]:
    try:
        key = PyJWK(jwk, algorithm=alg)
        # Fails now, once, for a key that does not fit its algorithm (e.g. a P-384 key
        # labelled ES256) instead of on every verification.
        key.Algorithm.prepare_key(key.key)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return key


@dataclass(frozen=True)
class KeyEntry:
    """One prepared key. ``seen_at`` is when a fetched JWKS last listed it."""

    fingerprint: str
    kid: Optional[str]
    alg: str
    key: PyJWK
    seen_at: float

    def jwk(self) -> dict[str, Any]:
        """The JWK as published (the fingerprint is its canonical JSON after the alg)."""
        document: dict[str, Any] = json.loads(self.fingerprint.partition("\x00")[2])
        return document


class KeySet:
    """An immutable, parsed JWKS: prepared keys by kid and by algorithm."""

    def __init__(self, entries: Iterable[KeyEntry], *, ignored: int = 0) -> None:
        self.entries = tuple(entries)
        self.ignored = ignored
        by_kid: dict[str, dict[str, PyJWK]] = {}
        by_alg: dict[str, list[PyJWK]] = {}
        for entry in self.entries:
            by_alg.setdefault(entry.alg, []).append(entry.key)
            if entry.kid is not None:
                by_kid.setdefault(entry.kid, {}).setdefault(entry.alg, entry.key)
        self._by_kid = by_kid
        self._by_alg = {alg: tuple(keys) for alg, keys in by_alg.items()}
        self._by_fingerprint = {entry.fingerprint: entry for entry in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        kids = sorted({str(entry.kid) for entry in self.entries})
        return f"KeySet(kids={kids!r}, ignored={self.ignored})"

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._by_kid)

    def find(self, kid: Optional[str], alg: str) -> Optional[PyJWK]:
        """The key for a token header, or None when the kid is unknown (a refetch may help).

        A token without ``kid`` is accepted only when exactly one key serves its ``alg``
        (as panva/jose does); with several, guessing would be unsafe, so it is refused.
        """
        if kid is None:
            candidates = self._by_alg.get(alg, ())
            if len(candidates) > 1:
                raise UnknownKeyError(
                    f"the token has no 'kid' header and the JWKS has {len(candidates)} "
                    f"{alg} keys; cannot tell which one signed it"
                )
            return candidates[0] if candidates else None
        keys = self._by_kid.get(kid)
        if keys is None:
            return None
        key = keys.get(alg)
        if key is None:
            raise InvalidAlgorithmError(
                f"the token algorithm {show(alg)} does not match key {show(kid)}, "
                f"which is for {', '.join(sorted(keys))}"
            )
        return key

    def prepared(self, fingerprint: str) -> Optional[PyJWK]:
        entry = self._by_fingerprint.get(fingerprint)
        return entry.key if entry else None

    def merged_with(self, older: Optional[KeySet], *, now: float, ttl: float) -> KeySet:
        """This freshly fetched set plus the keys of ``older`` it no longer lists, each
        kept until ``ttl`` seconds after a JWKS last listed it.

        So a key rotation seen through an unknown-kid refetch does not instantly reject
        the still-valid tokens signed with the previous key: a key is trusted for one TTL
        after it was last seen, whichever way the cache was refreshed.
        """
        if older is None:
            return self
        listed = {(entry.kid, entry.alg) for entry in self.entries if entry.kid is not None}
        kept = [
            entry
            for entry in older.entries
            if entry.fingerprint not in self._by_fingerprint
            and (entry.kid, entry.alg) not in listed
            and _elapsed(now, entry.seen_at) < ttl
        ]
        if not kept:
            return self
        return KeySet(self.entries + tuple(kept), ignored=self.ignored)


def parse_jwks(
    document: Any,
    algorithms: Sequence[str],
    *,
    seen_at: float,
    previous: Optional[KeySet] = None,
) -> KeySet:
    """Parse a JWKS document into prepared keys, keeping only the usable ones.

    A JWK already in ``previous`` reuses its prepared key object. Raises ValueError when
    the document is not a JWKS or has no usable key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the document is not a JWKS (no 'keys' list)")
    allowed = frozenset(algorithms)
    entries: list[KeyEntry] = []
    taken: set[tuple[str, str]] = set()
    ignored = 0
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not _usable_for_signatures(jwk):
            ignored += 1
            continue
        declared = jwk.get("alg")
        if declared is not None:
            candidates = [declared] if isinstance(declared, str) and declared in allowed else []
        else:
            serves = _algorithms_for(jwk)
            candidates = [alg for alg in algorithms if alg in serves]
        kid = jwk.get("kid")
        added = False
        for alg in candidates:
            if kid is not None and (kid, alg) in taken:
                continue  # a duplicate kid: the first key wins
            fingerprint = alg + "\x00" + json.dumps(jwk, sort_keys=True)
            key = previous.prepared(fingerprint) if previous else None
            if key is None:
                key = _build_key(jwk, alg)
            if key is None:
                continue
            entries.append(KeyEntry(fingerprint, kid, alg, key, seen_at))
            if kid is not None:
                taken.add((kid, alg))
            added = True
        if not added:
            ignored += 1
    if not entries:
        raise ValueError(
            f"the JWKS has no usable signing key for {', '.join(algorithms)} ({ignored} ignored)"
        )
    return KeySet(entries, ignored=ignored)


def keyset_from_response(
    status: int,
    data: bytes,
    *,
    url: str,
    algorithms: Sequence[str],
    seen_at: float,
    previous: Optional[KeySet] = None,
) -> KeySet:
    """Turn the JWKS endpoint's answer into a KeySet, or raise JWKSFetchError."""
    if status != 200:
        raise JWKSFetchError(f"GET {url} returned HTTP {status}", url=url, status=status)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise JWKSFetchError(f"GET {url} did not return JSON", url=url, status=status) from None
    try:
        return parse_jwks(document, algorithms, seen_at=seen_at, previous=previous)
    except ValueError as exc:
        raise JWKSFetchError(f"GET {url}: {exc}", url=url, status=status) from None


def _elapsed(now: float, then: Optional[float]) -> float:
    """Seconds since ``then``; infinite when never, or when the clock went backwards."""
    if then is None or now < then:
        return float("inf")
    return now - then


@dataclass(frozen=True)
class _Snapshot:
    keys: KeySet
    fetched_at: float


class _Flight(Protocol):
    """A fetch in flight, set when it is over (``threading.Event`` or ``asyncio.Event``)."""

    def set(self) -> None: ...


FlightT = TypeVar("FlightT", bound=_Flight)

# A key lookup, written once for both shells: it yields each time it needs the JWKS
# fetched (True: also wait for a fetch already in flight; False: stale keys may serve
# meanwhile) and returns the key. The sync shell drives it with a blocking fetch, the
# async one with an awaited fetch.
KeyFlow = Generator[bool, None, PyJWK]


class JWKSCacheCore(Generic[FlightT]):
    """The state and every decision of a JWKS cache, without I/O (see the module
    docstring for the policy). :class:`JWKSCache` adds a blocking fetch; the async
    validator adds an awaited one.

    ``clock`` is the validator's clock; it only measures the TTL and the cooldown, and
    a clock that jumps backwards makes the cache refetch rather than stall.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: Sequence[str],
        clock: Callable[[], float],
        ttl: float = DEFAULT_JWKS_TTL,
        cooldown: float = DEFAULT_JWKS_COOLDOWN,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.url = url
        self.algorithms = tuple(algorithms)
        self.ttl = float(ttl)
        self.cooldown = float(cooldown)
        self._safe_url = url_for_log(url)
        self._clock = clock
        self._rand = rand
        # Consecutive failed fetches, and the wait they impose after the last attempt
        # (the cooldown after a success; drawn once per failure, with jitter).
        self._failures = 0
        self._gap = self.cooldown
        # Guards the few fields below for the sync shell's threads; never held across I/O.
        self._lock = threading.Lock()
        self._snapshot: Optional[_Snapshot] = None
        self._inflight: Optional[FlightT] = None
        self._last_attempt: Optional[float] = None
        self._last_error: Optional[JWKSFetchError] = None
        self._fetches = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(url={self._safe_url!r}, ttl={self.ttl:g}, "
            f"cooldown={self.cooldown:g})"
        )

    @property
    def fetches(self) -> int:
        """How many fetches have been started (successful or not)."""
        return self._fetches

    @property
    def keys(self) -> Optional[KeySet]:
        snapshot = self._snapshot
        return snapshot.keys if snapshot else None

    def is_fresh(self) -> bool:
        """True when keys are cached and younger than the TTL."""
        snapshot = self._snapshot
        return snapshot is not None and _elapsed(self._clock(), snapshot.fetched_at) < self.ttl

    def _fresh_key(self, kid: Optional[str], alg: str) -> Optional[PyJWK]:
        """The common case without a generator: fresh keys that know the kid."""
        snapshot = self._snapshot
        if snapshot is None or _elapsed(self._clock(), snapshot.fetched_at) >= self.ttl:
            return None
        return snapshot.keys.find(kid, alg)

    def _key_flow(self, kid: Optional[str], alg: str) -> KeyFlow:
        """The prepared key for a token header, fetching or refetching as the policy allows.

        Raises UnknownKeyError or InvalidAlgorithmError for the token, JWKSFetchError when
        no keys are available at all.
        """
        now = self._clock()
        snapshot = self._snapshot
        if snapshot is None:
            yield True
            snapshot = self._snapshot
            if snapshot is None:
                raise self._unavailable()
        elif _elapsed(now, snapshot.fetched_at) >= self.ttl:
            # Stale keys still serve while one caller refreshes them: the others do not
            # queue behind a slow key endpoint.
            yield False
            snapshot = self._snapshot or snapshot
        key = snapshot.keys.find(kid, alg)
        if key is not None:
            return key
        yield True
        current = self._snapshot
        if current is not None and current is not snapshot:
            key = current.keys.find(kid, alg)
            if key is not None:
                return key
        raise self._unknown(kid, alg)

    def _claim(self, new_flight: Callable[[], FlightT]) -> Optional[tuple[FlightT, bool]]:
        """The fetch to lead (True) or to wait for (False), or None when the cooldown
        forbids starting one and none is in flight."""
        with self._lock:
            flight = self._inflight
            if flight is not None:
                return flight, False
            if _elapsed(self._clock(), self._last_attempt) < self._gap:
                return None
            flight = self._inflight = new_flight()
            return flight, True

    def _keys_from(self, status: int, data: bytes, started: float) -> KeySet:
        """The fetched answer as the new key set, merged with the cached keys."""
        previous = self._snapshot
        older = previous.keys if previous else None
        keys = keyset_from_response(
            status,
            data,
            url=self._safe_url,
            algorithms=self.algorithms,
            seen_at=started,
            previous=older,
        )
        logger.debug(
            "fetched JWKS %s: %d usable keys, %d ignored", self._safe_url, len(keys), keys.ignored
        )
        return keys.merged_with(older, now=started, ttl=self.ttl)

    def _connection_failed(self, exc: KindeConnectionError) -> JWKSFetchError:
        return JWKSFetchError(f"cannot fetch the JWKS: {exc}", url=self._safe_url)

    def _settle(
        self,
        flight: FlightT,
        started: float,
        keys: Optional[KeySet],
        error: Optional[JWKSFetchError],
    ) -> None:
        """Record the end of the fetch led with ``flight`` and release its waiters.
        Failures are recorded, not raised: callers fall back to cached keys."""
        if error is not None:
            previous = self._snapshot
            logger.warning(
                "JWKS refresh failed, keeping %d cached keys: %s",
                len(previous.keys) if previous else 0,
                error,
            )
        with self._lock:
            self._fetches += 1
            self._last_attempt = started
            if keys is not None:
                self._snapshot = _Snapshot(keys, started)
                self._last_error = None
                self._failures = 0
                self._gap = self.cooldown
            else:
                self._last_error = error or JWKSFetchError(
                    f"fetching {self._safe_url} was interrupted", url=self._safe_url
                )
                self._failures += 1
                backoff = failure_backoff(
                    self._failures, self.cooldown, JWKS_FAILURE_BACKOFF_MAX, self._rand
                )
                self._gap = max(self.cooldown, backoff)
            self._inflight = None
        flight.set()

    def _check_refreshed(self, before: Optional[_Snapshot]) -> None:
        """After a requested refresh: raise when it failed and left nothing new."""
        if self._snapshot is before and self._last_error is not None:
            raise self._unavailable()

    def _unavailable(self) -> JWKSFetchError:
        cause = self._last_error
        detail = f": {cause}" if cause else ""
        error = JWKSFetchError(
            f"no signing keys are available from {self._safe_url}{detail}",
            url=self._safe_url,
            status=cause.status if cause else None,
        )
        error.__cause__ = cause
        return error

    def _unknown(self, kid: Optional[str], alg: str) -> UnknownKeyError:
        what = f"kid {show(kid)}" if kid is not None else "no kid"
        message = f"no {alg} key with {what} in the JWKS at {self._safe_url}"
        cause = self._last_error
        if cause is not None:
            message += f" (the last refresh failed: {cause})"
        else:
            wait = self._gap - _elapsed(self._clock(), self._last_attempt)
            if wait > 0:
                message += f" (refetched recently; the next refetch is allowed in {wait:.0f}s)"
        error = UnknownKeyError(message)
        error.__cause__ = cause
        return error


class JWKSCache(JWKSCacheCore[threading.Event]):
    """Thread-safe cache of one JWKS URL: :class:`JWKSCacheCore` with a blocking fetch
    through the sync :class:`~kinde_sdk._transport.Transport`."""

    def __init__(
        self,
        url: str,
        *,
        algorithms: Sequence[str],
        transport: Transport,
        clock: Callable[[], float],
        ttl: float = DEFAULT_JWKS_TTL,
        cooldown: float = DEFAULT_JWKS_COOLDOWN,
    ) -> None:
        super().__init__(url, algorithms=algorithms, clock=clock, ttl=ttl, cooldown=cooldown)
        self._transport = transport

    def get_key(self, kid: Optional[str], alg: str) -> PyJWK:
        """The prepared key for a token header, fetching or refetching as the policy allows.

        Raises UnknownKeyError or InvalidAlgorithmError for the token, JWKSFetchError when
        no keys are available at all.
        """
        key = self._fresh_key(kid, alg)
        if key is not None:
            return key
        flow = self._key_flow(kid, alg)
        try:
            wait = next(flow)
            while True:
                self._fetch(wait=wait)
                wait = flow.send(None)
        except StopIteration as done:
            return cast(PyJWK, done.value)

    def refresh(self) -> None:
        """Fetch now unless the cooldown forbids it; raise JWKSFetchError if that fails."""
        before = self._snapshot
        self._fetch()
        self._check_refreshed(before)

    def _fetch(self, *, wait: bool = True) -> None:
        """Start one fetch if none is in flight and the cooldown allows, else wait for the
        one in flight (when ``wait``)."""
        claim = self._claim(threading.Event)
        if claim is None:
            return
        flight, leader = claim
        if not leader:
            if wait:
                flight.wait()
            return
        started = self._clock()
        keys: Optional[KeySet] = None
        error: Optional[JWKSFetchError] = None
        try:
            keys = self._download(started)
        except JWKSFetchError as exc:
            error = exc
        finally:
            self._settle(flight, started, keys, error)

    def _download(self, started: float) -> KeySet:
        try:
            response = self._transport.request(
                "GET", self.url, headers={"Accept": "application/json"}, kind="jwks"
            )
        except KindeConnectionError as exc:
            raise self._connection_failed(exc) from exc
        return self._keys_from(response.status, response.data, started)
