"""The Account API without I/O: what :class:`~kinde_sdk.account.AccountClient` and
:class:`~kinde_sdk.account.AsyncAccountClient` share.

Each operation is a generator (a *flow*): it yields the :class:`Call` to send, is sent
the :class:`~kinde_sdk._transport.Response` back, and returns the typed result or raises
the typed error. Pagination is part of the flow (it yields one call per page), so the
two clients differ only in how they send: ``transport.request(...)`` or
``await transport.request(...)`` (design principle 14, as in httpx's auth flows).

Requests are checked before anything is sent (strict in what we send): a key must be a
non-empty string, ``subnav`` one of the spec's values, ``page_size`` a positive int.
Responses are read leniently (see :mod:`._models`) and compared with the spec's model
from ``kinde_sdk_account_generated``, as the Management API's are: a difference is logged
once per model and field, or, with ``strict=True`` (the SDK's own tests), raises
:class:`~kinde_sdk.errors.ResponseValidationError`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import typing
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Generic, Optional, TypeVar, Union
from urllib.parse import quote, urlencode

from pydantic import ValidationError

from .._transport import Response
from ..errors import KindeAPIError, ResponseValidationError, api_error_from_response
from . import _models as m

__all__ = [
    "ACCOUNT_PATHS",
    "PORTAL_SUBNAVS",
    "TOKEN",
    "AccountCore",
    "Call",
    "Effect",
    "Flow",
    "Refresh",
    "Renew",
    "RenewalLocks",
    "Send",
    "drive",
    "flag_claims",
    "permission_claim",
    "permissions_claim",
    "roles_claim",
]

T = TypeVar("T")

GENERATED_PACKAGE = "kinde_sdk_account_generated"

# The spec's paths. GET /account_api/v1/entitlement declares a `key` path parameter its
# path lacks; Kinde's own JS utilities call .../entitlement/{key} (see
# openapi/spec-fixes, where the spec is fixed the same way).
ACCOUNT_PATHS = {
    "entitlements": "/account_api/v1/entitlements",
    "entitlement": "/account_api/v1/entitlement/{key}",
    "feature_flags": "/account_api/v1/feature_flags",
    "permissions": "/account_api/v1/permissions",
    "properties": "/account_api/v1/properties",
    "roles": "/account_api/v1/roles",
    "portal_link": "/account_api/v1/portal_link",
    "user_profile": "/oauth2/v2/user_profile",
    "introspect": "/oauth2/introspect",
    "revoke": "/oauth2/revoke",
}

PORTAL_SUBNAVS = frozenset(
    {
        "profile",
        "organization_details",
        "organization_payment_details",
        "organization_plan_selection",
        "payment_details",
        "plan_details",
        "plan_selection",
    }
)
TOKEN_TYPE_HINTS = frozenset({"access_token", "refresh_token"})

# A server that keeps answering has_more with the same cursor must not loop forever.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Call:
    """One request of a flow. ``form`` is an urlencoded body (POST); ``model`` names the
    generated response model that strict mode validates the body against."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    # Never in a repr: introspect and revoke send the user's token (and a client secret).
    form: Optional[tuple[tuple[str, str], ...]] = field(default=None, repr=False)
    model: Optional[str] = None

    def url(self, origin: str) -> str:
        url = origin + self.path
        return f"{url}?{urlencode(self.query)}" if self.query else url


Flow = Generator[Call, Response, T]

Y = TypeVar("Y")
S = TypeVar("S")


def drive(flow: Generator[Y, S, T], send: Callable[[Y], S]) -> T:
    """Run ``flow`` to its result with a blocking ``send`` (the async client has its
    own three-line loop with ``await``)."""
    try:
        step = next(flow)
        while True:
            step = flow.send(send(step))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


# --- sending one call with the user's token, and the 401 ------------------------------
# ``AccountCore.exchange`` sends one call; what it yields the client performs:
#   TOKEN         -> the token the next call sends (the client's source, refreshed when due)
#   Send(call, t) -> the Response to ``call`` sent with bearer ``t``
#   Renew(t)      -> a token other than ``t`` (rejected with a 401), or None: the client
#                    runs ``AccountCore.renew(t)`` under ``t``'s lock (RenewalLocks)
#   Refresh(t)    -> a forced refresh of the client's source (an OAuth session's refresh
#                    grant); nothing for a callable, which is simply asked again.


class _Token:
    def __repr__(self) -> str:
        return "TOKEN"


TOKEN = _Token()


@dataclass(frozen=True)
class Send:
    call: Call
    token: str = field(repr=False)


@dataclass(frozen=True)
class Renew:
    rejected: str = field(repr=False)


@dataclass(frozen=True)
class Refresh:
    rejected: str = field(repr=False)


Effect = Union[_Token, Send, Renew, Refresh]

L = TypeVar("L")


class RenewalLocks(Generic[L]):
    """One lock per rejected token, held while its renewal runs: the calls that got a
    401 with the same token (one user's) renew once, and a client shared by many users
    (``oauth.account``, FastAPI's dependency) never makes one user's call wait for
    another user's refresh. A token's lock lives only while calls use it."""

    def __init__(self, new_lock: Callable[[], L]) -> None:
        self._new_lock = new_lock
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[L, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.contextmanager
    def lock_for(self, rejected: str) -> Iterator[L]:
        """``rejected``'s lock (not yet acquired), kept registered until the block ends."""
        with self._guard:
            lock, users = self._locks.get(rejected) or (self._new_lock(), 0)
            self._locks[rejected] = (lock, users + 1)
        try:
            yield lock
        finally:
            with self._guard:
                lock, users = self._locks[rejected]
                if users == 1:
                    del self._locks[rejected]
                else:
                    self._locks[rejected] = (lock, users - 1)


def _check_page_size(page_size: Optional[int]) -> Optional[int]:
    if page_size is None:
        return None
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        raise ValueError(f"page_size must be a positive int, not {page_size!r}")
    return page_size


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


class AccountCore:
    """Builds every call and reads every answer. ``origin`` is the Kinde domain
    (``https://acme.kinde.com``); ``strict`` validates bodies against the spec."""

    def __init__(self, origin: str, *, strict: bool = False) -> None:
        self.origin = origin
        self.strict = strict
        # The last token a 401 replaced, and its replacement: the calls that were in
        # flight with the same rejected token take the replacement instead of refreshing
        # again. One pair, replaced whole and read once: renewals of different tokens
        # (different users) run at once, and a token is only ever paired with its own
        # replacement.
        self._renewed: Optional[tuple[str, str]] = None

    # --- the bearer token and the 401 ----------------------------------------------------

    def exchange(self, call: Call, *, renewable: bool) -> Generator[Effect, Any, Response]:
        """Send ``call`` with the current token. On a 401, when the token comes from a
        source that can give a fresh one (``renewable``: an OAuth session or a
        callable), one fresh token and one replay; a second 401, or a fixed token,
        is returned as it is (raised as :class:`~kinde_sdk.errors.AuthenticationError`
        by the operation)."""
        token: str = yield TOKEN
        response: Response = yield Send(call, token)
        if response.status != 401 or not renewable:
            return response
        fresh: Optional[str] = yield Renew(token)
        if fresh is None:
            return response
        replayed: Response = yield Send(call, fresh)
        return replayed

    def renew(self, rejected: str) -> Generator[Effect, Any, Optional[str]]:
        """A token to use instead of ``rejected``, or None when the source has none.

        Run by the client under ``rejected``'s lock (:class:`RenewalLocks`), so the
        calls that all got a 401 with the same token cause one refresh: the first
        refreshes, the others find the replacement (or a source that already moved on)
        without asking again."""
        renewed = self._renewed
        if renewed is not None and renewed[0] == rejected:
            return renewed[1]
        current: str = yield TOKEN
        if current == rejected:
            yield Refresh(rejected)
            current = yield TOKEN
        if current == rejected:
            return None
        self._renewed = (rejected, current)
        return current

    # --- answers -------------------------------------------------------------------

    def _error(self, call: Call, response: Response) -> KindeAPIError:
        return api_error_from_response(
            response.status,
            response.data,
            response.headers,
            request_id=response.request_id,
            method=call.method,
            url=self.origin + call.path,
            retry_after=response.retry_after,
        )

    def _json(self, call: Call, response: Response) -> dict[str, Any]:
        """The JSON object of a 2xx answer; any other status is its typed error, and a
        2xx body that is not a JSON object is an error too, never an empty result.

        A body that matches the spec costs one strict pass inside pydantic-core
        (``model_validate_json``, as the Management API's ``parse_response``); only a
        body that fails it is read again, as sent, and its differences reported."""
        if not 200 <= response.status <= 299:
            raise self._error(call, response)
        if call.model is None:
            return self._object(call, response)
        model, plain = _model(call.model)
        if plain:
            try:
                parsed = model.model_validate_json(response.data)
            except ValidationError as exc:
                body = self._object(call, response)
                self._drifted(call, response, model, _problems(model, exc, body))
                return body
            self._nulls(call, response, model, parsed)
            # What the server sent: it matched the spec, whose models forbid unknown
            # fields, so the fields it set are all of it.
            dumped: dict[str, Any] = parsed.model_dump(
                mode="json", by_alias=True, exclude_unset=True
            )
            return dumped
        # A model holding a oneOf wrapper (a flag's or property's ``value``), whose
        # validation drops an object value, or a date-time: the body is read as sent,
        # once, and validated from that.
        body = self._object(call, response)
        try:
            parsed = model.model_validate(body)
        except ValidationError as exc:
            self._drifted(call, response, model, _problems(model, exc, body))
            return body
        self._nulls(call, response, model, parsed)
        return body

    def _nulls(self, call: Call, response: Response, model: Any, parsed: Any) -> None:
        # Nulls are kept as None either way; only the strict mode pays for finding them,
        # as for the Management API.
        if self.strict:
            from .._lenient import null_problems

            self._drifted(call, response, model, null_problems(parsed))

    def _object(self, call: Call, response: Response) -> dict[str, Any]:
        try:
            body = json.loads(response.data) if response.data else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise KindeAPIError(
                response.status,
                message="the Account API answered without a JSON object",
                request_id=response.request_id,
                method=call.method,
                url=self.origin + call.path,
            )
        return body

    def _drifted(self, call: Call, response: Response, model: Any, problems: list[str]) -> None:
        """Differences from the spec's model: in strict mode they raise; otherwise the
        body is kept as sent and each difference is logged once per model and field
        (``kinde_sdk.management`` logger, WARNING, never the value)."""
        if not problems:
            return
        class_name = model.__name__
        if self.strict:
            from .._lenient import summarize

            raise ResponseValidationError(
                f"the {class_name} response (HTTP {response.status}) of {call.method} "
                f"{call.path} differs from the Account API spec: {summarize(problems)}",
                status=response.status,
                response_type=class_name,
                problems=problems,
            )
        from .._lenient import warn_drift

        for problem in problems:
            where, _, what = problem.rpartition(": ")
            field = ".".join(part for part in where.split(".") if not part.isdigit())
            warn_drift(class_name, field, what)

    # --- pagination ----------------------------------------------------------------

    def _pages(
        self, path: str, items: str, model: str, page_size: Optional[int]
    ) -> Generator[Call, Response, tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every page of a list: (the first page's ``data``, every item). Follows
        ``metadata.next_page_starting_after`` while ``metadata.has_more`` is true."""
        size = _check_page_size(page_size)
        first: Optional[dict[str, Any]] = None
        collected: list[dict[str, Any]] = []
        cursor: Optional[str] = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query: list[tuple[str, str]] = []
            if size is not None:
                query.append(("page_size", str(size)))
            if cursor is not None:
                query.append(("starting_after", cursor))
            call = Call("GET", path, tuple(query), model=model)
            body = self._json(call, (yield call))
            data = m._obj(body.get("data"))
            if first is None:
                first = data
            page = m._objs(data.get(items))
            collected += page
            meta = m._obj(body.get("metadata"))
            if meta.get("has_more") is not True:
                return first, collected
            following = m._str(meta.get("next_page_starting_after"))
            if following is None and page:
                following = m._str(page[-1].get("id"))
            if following is None or following in seen:
                raise KindeAPIError(
                    200,
                    message="the Account API says there are more pages but gives no new "
                    "cursor (next_page_starting_after)",
                    method="GET",
                    url=self.origin + path,
                )
            seen.add(following)
            cursor = following
        raise KindeAPIError(
            200, message=f"more than {MAX_PAGES} pages", method="GET", url=self.origin + path
        )

    # --- operations ------------------------------------------------------------------

    def entitlements(self, page_size: Optional[int] = None) -> Flow[m.Entitlements]:
        first, items = yield from self._pages(
            ACCOUNT_PATHS["entitlements"],
            "entitlements",
            "get_entitlements_response.GetEntitlementsResponse",
            page_size,
        )
        return m.Entitlements(
            org_code=m._str(first.get("org_code")),
            plans=tuple(m.Plan.from_json(p) for p in m._objs(first.get("plans"))),
            entitlements=tuple(m.Entitlement.from_json(e) for e in items),
        )

    def entitlement(self, key: str) -> Flow[Optional[m.Entitlement]]:
        _check_text(key, "key")
        path = ACCOUNT_PATHS["entitlement"].format(key=quote(key, safe=""))
        call = Call("GET", path, model="get_entitlement_response.GetEntitlementResponse")
        body = self._json(call, (yield call))
        found = m._obj(body.get("data")).get("entitlement")
        return m.Entitlement.from_json(found) if isinstance(found, Mapping) else None

    def feature_flags(self, page_size: Optional[int] = None) -> Flow[m.FeatureFlags]:
        _, items = yield from self._pages(
            ACCOUNT_PATHS["feature_flags"],
            "feature_flags",
            "get_feature_flags_response.GetFeatureFlagsResponse",
            page_size,
        )
        return m.FeatureFlags(flags=tuple(m.FeatureFlag.from_json(f) for f in items))

    def permissions(self, page_size: Optional[int] = None) -> Flow[m.Permissions]:
        first, items = yield from self._pages(
            ACCOUNT_PATHS["permissions"],
            "permissions",
            "get_user_permissions_response.GetUserPermissionsResponse",
            page_size,
        )
        return m.Permissions(
            org_code=m._str(first.get("org_code")),
            permissions=tuple(m.Permission.from_json(p) for p in items),
        )

    def roles(self, page_size: Optional[int] = None) -> Flow[m.Roles]:
        first, items = yield from self._pages(
            ACCOUNT_PATHS["roles"],
            "roles",
            "get_user_roles_response.GetUserRolesResponse",
            page_size,
        )
        return m.Roles(
            org_code=m._str(first.get("org_code")),
            roles=tuple(m.Role.from_json(r) for r in items),
        )

    def properties(self, page_size: Optional[int] = None) -> Flow[m.Properties]:
        _, items = yield from self._pages(
            ACCOUNT_PATHS["properties"],
            "properties",
            "get_user_properties_response.GetUserPropertiesResponse",
            page_size,
        )
        return m.Properties(properties=tuple(m.Property.from_json(p) for p in items))

    def portal_link(
        self, subnav: Optional[str] = None, return_url: Optional[str] = None
    ) -> Flow[m.PortalLink]:
        query: list[tuple[str, str]] = []
        if subnav is not None:
            if subnav not in PORTAL_SUBNAVS:
                raise ValueError(
                    f"subnav must be one of {', '.join(sorted(PORTAL_SUBNAVS))}, not {subnav!r}"
                )
            # The spec's name is `subnav` (the official SDK sends `sub_nav`, ignored).
            query.append(("subnav", subnav))
        if return_url is not None:
            query.append(("return_url", _check_text(return_url, "return_url")))
        call = Call(
            "GET", ACCOUNT_PATHS["portal_link"], tuple(query), model="portal_link.PortalLink"
        )
        body = self._json(call, (yield call))
        return m.PortalLink(url=m._str(body.get("url")), raw=body)

    def user_profile(self) -> Flow[m.UserProfile]:
        call = Call("GET", ACCOUNT_PATHS["user_profile"], model="user_profile_v2.UserProfileV2")
        body = self._json(call, (yield call))
        return m.UserProfile.from_json(body)

    def introspect(
        self, token: str, token_type_hint: Optional[str] = None
    ) -> Flow[m.TokenIntrospection]:
        form = [("token", _check_text(token, "token"))]
        if token_type_hint is not None:
            form.append(("token_type_hint", _hint(token_type_hint)))
        call = Call(
            "POST",
            ACCOUNT_PATHS["introspect"],
            form=tuple(form),
            model="token_introspect.TokenIntrospect",
        )
        body = self._json(call, (yield call))
        return m.TokenIntrospection.from_json(body)

    def revoke(
        self,
        token: str,
        *,
        client_id: str,
        client_secret: Optional[str] = None,
        token_type_hint: Optional[str] = None,
    ) -> Flow[None]:
        form = [("token", _check_text(token, "token")), ("client_id", client_id)]
        if client_secret:
            form.append(("client_secret", client_secret))
        if token_type_hint is not None:
            form.append(("token_type_hint", _hint(token_type_hint)))
        call = Call("POST", ACCOUNT_PATHS["revoke"], form=tuple(form))
        response = yield call
        if not 200 <= response.status <= 299:
            raise self._error(call, response)
        return None


_models: dict[str, tuple[Any, bool]] = {}


def _model(name: str) -> tuple[Any, bool]:
    """The generated model class ``name`` (``module.Class``), imported on first use, and
    whether it is plain: no oneOf wrapper nor date-time anywhere inside, so that one
    ``model_validate_json`` pass both checks a body and gives back what was sent."""
    found = _models.get(name)
    if found is None:
        module_name, _, class_name = name.rpartition(".")
        module = importlib.import_module(f"{GENERATED_PACKAGE}.models.{module_name}")
        cls = getattr(module, class_name)
        found = _models[name] = (cls, not _holds_wrapper(cls, set()))
    return found


def _holds_wrapper(annotation: Any, seen: set[Any]) -> bool:
    """Whether a value of ``annotation`` may not dump back to what was sent: it holds
    a oneOf wrapper (which drops an object value) or a date-time."""
    from .._lenient import _is_kinde_model, _is_model, _strip

    core, _ = _strip(annotation)
    origin = typing.get_origin(core)
    if origin in (list, dict, Union):
        return any(_holds_wrapper(arg, seen) for arg in typing.get_args(core))
    if core in (datetime, date):
        return True  # dumped back in another spelling than sent ("Z" as "+00:00")
    if not _is_model(core) or core in seen:
        return False
    if not _is_kinde_model(core):
        return True
    seen.add(core)
    return any(_holds_wrapper(f.annotation, seen) for f in core.model_fields.values())


def _problems(model: Any, exc: ValidationError, data: Any) -> list[str]:
    """Where ``data`` (the body, already read) differs from ``model``, as ``loc: type``.

    A oneOf field (a flag's or property's ``value``) is generated as a wrapper model that
    pydantic's one-pass validation refuses for any plain value; such a field is checked
    with the wrapper's own ``from_json`` instead."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [
        f"{'.'.join(str(part) for part in error['loc']) or '(body)'}: {error['type']}"
        for error in errors
        if not (error["type"] == "model_type" and _one_of_accepts(model, data, error["loc"]))
    ]


def _one_of_accepts(model: Any, data: Any, loc: tuple[Any, ...]) -> bool:
    from .._lenient import _field_names, _is_kinde_model, _is_model, _strip

    cls, value = model, data
    try:
        for part in loc:
            if isinstance(part, int):
                value = value[part]
                continue
            value = value[part]
            annotation, _ = _strip(cls.model_fields[_field_names(cls)[part]].annotation)
            if typing.get_origin(annotation) is list:
                annotation, _ = _strip(typing.get_args(annotation)[0])
            cls = annotation
        if not _is_model(cls) or _is_kinde_model(cls):
            return False
        cls.from_json(json.dumps(value))
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


def _hint(value: str) -> str:
    if value not in TOKEN_TYPE_HINTS:
        raise ValueError(
            f"token_type_hint must be 'access_token' or 'refresh_token', not {value!r}"
        )
    return value


# --- the claims helpers' shapes, from the API ----------------------------------------
# ``OAuth.get_permission(key, force_api=True)`` and friends return exactly what they
# return from the token (see kinde_sdk.auth._claims), built from these.


def permission_claim(permissions: m.Permissions, key: str) -> dict[str, Any]:
    # Compare keys with keys: the official SDK compares the string with the permission
    # objects, so its force_api check is always False.
    return {"orgCode": permissions.org_code, "isGranted": key in permissions.keys}


def permissions_claim(permissions: m.Permissions) -> dict[str, Any]:
    return {"orgCode": permissions.org_code, "permissions": permissions.keys}


def roles_claim(roles: m.Roles) -> list[dict[str, Any]]:
    return [{"id": r.id, "key": r.key, "name": r.name} for r in roles]


def flag_claims(flags: m.FeatureFlags) -> dict[str, Any]:
    """Claims holding only ``feature_flags``, for :func:`kinde_sdk.auth._claims.get_flag`."""
    return {"feature_flags": flags.as_claim()}
