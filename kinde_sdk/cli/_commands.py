"""The ``kinde`` argument parser and one handler per command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

from .._config import from_env
from .._version import __version__
from ..management.client import CLIENT_ID_ENV, CLIENT_SECRET_ENV, DOMAIN_ENV
from ._output import FORMATS, ListWriter, write_object

if TYPE_CHECKING:  # imported when first needed: `kinde --help` stays fast
    from .._transport import Transport
    from ..management import ManagementClient

PROG = "kinde"

USERS_COLUMNS = ("id", "email", "first_name", "last_name", "provided_id", "is_suspended")
ORGS_COLUMNS = ("code", "name", "handle", "external_id", "is_default")
ROLES_COLUMNS = ("id", "key", "name", "description", "is_default_role")
PERMISSIONS_COLUMNS = ("id", "key", "name", "description")
FLAGS_COLUMNS = ("key", "type", "value")
# More parallel creations than this would only collect 429s.
MAX_CONCURRENCY = 32

DESCRIPTION = f"""\
Manage a Kinde business from the command line (Kinde Management API).

Credentials come from the environment:
  {" or ".join(DOMAIN_ENV)}
  {" or ".join(CLIENT_ID_ENV)}
  {" or ".join(CLIENT_SECRET_ENV)}
of a machine-to-machine application authorised for the Management API.
The --domain, --client-id and --client-secret options override them, but a
secret on the command line can be seen by other users in the process list and
lands in shell history: prefer the environment.

Output is an aligned table on a terminal and JSON lines (one object per line)
otherwise; choose with --output. Exit status: 0 success, 1 API or network
error, 2 usage or configuration error.
"""


class UsageError(Exception):
    """A command-line mistake: exit status 2."""


@dataclass
class Context:
    args: argparse.Namespace
    out: TextIO
    err: TextIO
    # Connections kept per host: the import raises it to its concurrency.
    pool_size: int = 10
    _client: Optional[ManagementClient] = field(default=None, repr=False)
    _transport: Optional[Transport] = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The parsed arguments hold --client-secret, and --header values may be
        # credentials too (an API gateway's key): never show either.
        shown = {name: value for name, value in vars(self.args).items() if name != "handler"}
        if shown.get("client_secret"):
            shown["client_secret"] = "[redacted]"
        if shown.get("header"):
            shown["header"] = [f"{str(h).split(':', 1)[0]}:[redacted]" for h in shown["header"]]
        return f"Context(args={shown!r}, pool_size={self.pool_size})"

    @property
    def raw(self) -> bool:
        """``--raw``: CSV cells are written as they are, not neutralised."""
        return bool(getattr(self.args, "raw", False))

    @property
    def fmt(self) -> str:
        chosen: Optional[str] = getattr(self.args, "output", None)
        if chosen:
            return chosen
        return "table" if self.out.isatty() else "json"

    def client(self) -> ManagementClient:
        if self._client is None:
            from .._transport import Transport
            from ..management import ManagementClient

            headers = parse_headers(getattr(self.args, "header", None) or [])
            self._transport = Transport(headers=headers, pool_maxsize=max(self.pool_size, 10))
            self._client = ManagementClient(
                getattr(self.args, "domain", None),
                getattr(self.args, "client_id", None),
                getattr(self.args, "client_secret", None),
                transport=self._transport,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._transport is not None:
            self._transport.close()


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            raise UsageError(f"--header {value!r}: expected NAME:VALUE")
        if name.lower() == "authorization":
            raise UsageError("--header: the Authorization header is the M2M token's")
        headers[name] = text.strip()
    return headers


# -- helpers ---------------------------------------------------------------------------


def _columns(args: argparse.Namespace, default: Sequence[str]) -> list[str]:
    text: Optional[str] = getattr(args, "columns", None)
    if not text:
        return list(default)
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise UsageError("--columns: give at least one column name")
    return columns


def _list(
    ctx: Context,
    method: Callable[..., Any],
    items_field: str,
    columns: Sequence[str],
    **params: Any,
) -> int:
    """Stream every item of a paginated list: each page is written and flushed before
    the next one is requested."""
    writer = ListWriter(ctx.out, ctx.fmt, _columns(ctx.args, columns), raw=ctx.raw)
    calls = 0

    def fetch(**kwargs: Any) -> Any:
        nonlocal calls
        if calls:
            writer.page_done()
        calls += 1
        return method(**kwargs)

    params = {k: v for k, v in params.items() if v is not None}
    items: Iterator[Any] = ctx.client().paginate(
        fetch, items_field, page_size=getattr(ctx.args, "page_size", None), **params
    )
    limit: Optional[int] = getattr(ctx.args, "limit", None)
    if limit is not None:
        items = islice(items, limit)
    try:
        for item in items:
            writer.add(item)
    finally:
        writer.close()
    return 0


def _show(ctx: Context, obj: Any) -> int:
    write_object(ctx.out, ctx.fmt, obj, raw=ctx.raw)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _concurrency(text: str) -> int:
    value = _positive(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"at most {MAX_CONCURRENCY}, got {value}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


# -- users -----------------------------------------------------------------------------


def users_list(ctx: Context) -> int:
    client = ctx.client()
    return _list(ctx, client.users.get_users, "users", USERS_COLUMNS, email=ctx.args.email)


def users_get(ctx: Context) -> int:
    return _show(ctx, ctx.client().get_user(ctx.args.id))


def users_create(ctx: Context) -> int:
    a = ctx.args
    return _show(
        ctx,
        ctx.client().create_user(
            first_name=a.first_name,
            last_name=a.last_name,
            email=a.email,
            organization_code=a.organization_code,
            provided_id=a.provided_id,
        ),
    )


def users_update(ctx: Context) -> int:
    a = ctx.args
    fields = {
        k: v
        for k, v in {
            "provided_id": a.provided_id,
            "picture": a.picture,
            "is_suspended": a.is_suspended,
        }.items()
        if v is not None
    }
    if a.first_name is None and a.last_name is None and not fields:
        raise UsageError("users update: nothing to change (see --help)")
    return _show(ctx, ctx.client().update_user(a.id, a.first_name, a.last_name, **fields))


def users_delete(ctx: Context) -> int:
    profile = True if ctx.args.delete_profile else None
    return _show(ctx, ctx.client().delete_user(ctx.args.id, is_delete_profile=profile))


def users_import(ctx: Context) -> int:
    from . import _import as imp

    a = ctx.args
    source = Path(a.file)
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    try:
        fmt = imp.input_format(source, a.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    results_path = (
        Path(a.results) if a.results else source.with_name(source.name + ".results.jsonl")
    )

    errors: list[imp.RowError] = []
    valid = 0
    try:
        for item in imp.parse(source, fmt):
            if isinstance(item, imp.RowError):
                errors.append(item)
            else:
                valid += 1
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text ({exc.reason})") from None
    if errors:
        imp.report_errors(errors, source, ctx.err)
        ctx.err.write(
            f"{len(errors)} bad row(s) in {source}; nothing was imported ({valid} valid row(s))\n"
        )
        return 2
    if a.dry_run:
        previous = imp.load_results(results_path)
        done = sum(
            previous.get(item.key, {}).get("status") == "created"
            for item in imp.parse(source, fmt)
            if isinstance(item, imp.Row)
        )
        ctx.err.write(
            f"dry run: {valid} valid row(s); {valid - done} to create, {done} already "
            f"created according to {results_path}; nothing was sent\n"
        )
        return 0

    ctx.pool_size = a.concurrency
    client = ctx.client()
    client.get_access_token()  # bad credentials fail here, before any row
    progress = imp.Progress(valid, ctx.err)
    try:
        results = imp.ResultsFile(results_path)
    except imp.ResultsBusyError as exc:
        raise UsageError(str(exc)) from None
    # Read what earlier runs did only now, under the lock: a run that ended while this
    # one was validating has its records in the file, and they must be seen (read
    # before the lock, they made a second run re-create the first run's users).
    try:
        previous = imp.load_results(results_path)
    except BaseException:
        results.close()
        raise
    importer = imp.Importer(
        client,
        results,
        previous,
        progress,
        imp.ImportOptions(concurrency=a.concurrency, max_retries=a.max_retries),
    )
    rows = (item for item in imp.parse(source, fmt) if isinstance(item, imp.Row))
    try:
        importer.run(rows)
    except KeyboardInterrupt:
        progress.finish()
        ctx.err.write(
            f"interrupted: {imp.summary(progress, results_path)}\n"
            "run the same command again to import the remaining rows\n"
        )
        raise
    finally:
        results.close()
    progress.finish()
    ctx.err.write(imp.summary(progress, results_path) + "\n")
    if importer.fatal is not None:
        ctx.err.write("the import stopped early; run the same command again to continue\n")
        raise importer.fatal
    return 1 if progress.failed else 0


# -- organizations ---------------------------------------------------------------------


def orgs_list(ctx: Context) -> int:
    client = ctx.client()
    return _list(ctx, client.organizations.get_organizations, "organizations", ORGS_COLUMNS)


def orgs_get(ctx: Context) -> int:
    return _show(ctx, ctx.client().get_organization(ctx.args.code))


def _org_fields(a: argparse.Namespace) -> dict[str, Any]:
    return {
        k: v for k, v in {"external_id": a.external_id, "handle": a.handle}.items() if v is not None
    }


def orgs_create(ctx: Context) -> int:
    return _show(ctx, ctx.client().create_organization(ctx.args.name, **_org_fields(ctx.args)))


def orgs_update(ctx: Context) -> int:
    a = ctx.args
    fields = _org_fields(a)
    if a.name is None and not fields:
        raise UsageError("orgs update: nothing to change (see --help)")
    return _show(ctx, ctx.client().update_organization(a.code, a.name, **fields))


def orgs_delete(ctx: Context) -> int:
    return _show(ctx, ctx.client().delete_organization(ctx.args.code))


# -- roles -----------------------------------------------------------------------------


def roles_list(ctx: Context) -> int:
    return _list(ctx, ctx.client().roles.get_roles, "roles", ROLES_COLUMNS)


def roles_get(ctx: Context) -> int:
    response = ctx.client().get_role(ctx.args.id)
    return _show(ctx, getattr(response, "role", None) or response)


def roles_create(ctx: Context) -> int:
    a = ctx.args
    return _show(ctx, ctx.client().create_role(a.name, a.description, a.key))


def roles_update(ctx: Context) -> int:
    a = ctx.args
    return _show(ctx, ctx.client().update_role(a.id, a.name, a.description, a.key))


def roles_delete(ctx: Context) -> int:
    return _show(ctx, ctx.client().delete_role(ctx.args.id))


# -- permissions -----------------------------------------------------------------------


def permissions_list(ctx: Context) -> int:
    client = ctx.client()
    return _list(ctx, client.permissions.get_permissions, "permissions", PERMISSIONS_COLUMNS)


def _permission_request(a: argparse.Namespace) -> Any:
    """The request body as a dict: the generated method validates it into its model (only
    kinde_sdk.management imports the generated package)."""
    fields = {"name": a.name, "key": a.key, "description": a.description}
    return {k: v for k, v in fields.items() if v is not None}


def permissions_create(ctx: Context) -> int:
    request = _permission_request(ctx.args)
    return _show(ctx, ctx.client().permissions.create_permission(create_permission_request=request))


def permissions_update(ctx: Context) -> int:
    a = ctx.args
    if a.name is None and a.key is None and a.description is None:
        raise UsageError("permissions update: nothing to change (see --help)")
    return _show(
        ctx,
        ctx.client().permissions.update_permissions(
            permission_id=a.id, create_permission_request=_permission_request(a)
        ),
    )


def permissions_delete(ctx: Context) -> int:
    return _show(ctx, ctx.client().permissions.delete_permission(permission_id=ctx.args.id))


# -- feature flags ---------------------------------------------------------------------


def flags_list(ctx: Context) -> int:
    """The environment's flags: one request (the API does not paginate them)."""
    flags = ctx.client().get_feature_flags().feature_flags
    writer = ListWriter(ctx.out, ctx.fmt, _columns(ctx.args, FLAGS_COLUMNS), raw=ctx.raw)
    for flag in flags:
        writer.add(flag.model_dump(include={"key", "type", "value"}))
    writer.close()
    return 0


def flags_create(ctx: Context) -> int:
    a = ctx.args
    return _show(
        ctx,
        ctx.client().create_feature_flag(
            name=a.name,
            key=a.key,
            type=a.type,
            default_value=a.default_value,
            description=a.description,
            allow_override_level=a.allow_override_level,
        ),
    )


def flags_update(ctx: Context) -> int:
    a = ctx.args
    return _show(
        ctx,
        ctx.client().update_feature_flag(
            a.key,
            name=a.name,
            description=a.description,
            type=a.type,
            default_value=a.default_value,
            allow_override_level=a.allow_override_level,
        ),
    )


def flags_delete(ctx: Context) -> int:
    return _show(ctx, ctx.client().delete_feature_flag(ctx.args.key))


# -- token -----------------------------------------------------------------------------


def token(ctx: Context) -> int:
    ctx.out.write(ctx.client().get_access_token() + "\n")
    ctx.out.flush()
    return 0


# -- the parser ------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """Options accepted before or after the command (``kinde -o json users list`` and
    ``kinde users list -o json``); SUPPRESS keeps a later level from resetting them."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    s = argparse.SUPPRESS
    group.add_argument(
        "--domain",
        default=s,
        help=f"Kinde domain, e.g. acme.kinde.com (default: ${DOMAIN_ENV[0]})",
    )
    group.add_argument(
        "--client-id",
        default=s,
        help=f"M2M application client id (default: ${CLIENT_ID_ENV[0]})",
    )
    group.add_argument(
        "--client-secret",
        default=s,
        help=(
            f"M2M application client secret (default: ${CLIENT_SECRET_ENV[0]}). "
            "Warning: visible to other users in the process list; prefer the environment"
        ),
    )
    group.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default=s,
        help="output format (default: table on a terminal, json lines otherwise)",
    )
    group.add_argument(
        "--raw",
        action="store_true",
        default=s,
        help="CSV: write values untouched; by default a cell starting with = + - @ TAB "
        "or CR is prefixed with ' so spreadsheets do not run it as a formula",
    )
    group.add_argument(
        "--header",
        action="append",
        default=s,
        metavar="NAME:VALUE",
        help="extra HTTP header for every request (repeatable)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    resources = parser.add_subparsers(dest="resource", metavar="COMMAND")

    def group(name: str, help_text: str, aliases: Sequence[str] = ()) -> Any:
        sub = resources.add_parser(name, help=help_text, aliases=list(aliases))
        return sub.add_subparsers(dest="action", metavar="ACTION", required=True)

    def leaf(actions: Any, name: str, handler: Callable[[Context], int], help_text: str) -> Any:
        sub = actions.add_parser(name, help=help_text, parents=[common], description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def list_options(sub: Any) -> None:
        sub.add_argument("--page-size", type=_positive, help="items per API request")
        sub.add_argument("--limit", type=_non_negative, help="stop after this many items")
        sub.add_argument("--columns", help="comma-separated fields for table and CSV output")

    # users
    users = group("users", "list, show, create, update, delete and import users")
    sub = leaf(users, "list", users_list, "list users (every page, streamed)")
    list_options(sub)
    sub.add_argument("--email", help="only users with this email")
    sub = leaf(users, "get", users_get, "show one user")
    sub.add_argument("id", help="user id (kp_...)")
    sub = leaf(users, "create", users_create, "create a user")
    sub.add_argument("--email", required=True)
    sub.add_argument("--first-name")
    sub.add_argument("--last-name")
    sub.add_argument("--organization-code", help="add the user to this organization")
    sub.add_argument("--provided-id", help="your own id for the user")
    sub = leaf(users, "update", users_update, "change a user")
    sub.add_argument("id", help="user id (kp_...)")
    sub.add_argument("--first-name")
    sub.add_argument("--last-name")
    sub.add_argument("--provided-id")
    sub.add_argument("--picture", help="picture URL")
    suspend = sub.add_mutually_exclusive_group()
    suspend.add_argument("--suspend", dest="is_suspended", action="store_const", const=True)
    suspend.add_argument("--unsuspend", dest="is_suspended", action="store_const", const=False)
    sub = leaf(users, "delete", users_delete, "delete a user")
    sub.add_argument("id", help="user id (kp_...)")
    sub.add_argument("--delete-profile", action="store_true", help="also delete the profile")
    sub = leaf(
        users,
        "import",
        users_import,
        "create users in bulk from a CSV or JSON lines file; safe to re-run",
    )
    sub.add_argument(
        "file",
        help="CSV with a header, or JSON lines; fields: email (required), first_name, "
        "last_name, organization_code, provided_id",
    )
    sub.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name")
    sub.add_argument("--dry-run", action="store_true", help="only validate every row; send nothing")
    sub.add_argument(
        "--concurrency",
        type=_concurrency,
        default=4,
        help=f"parallel requests, 1 to {MAX_CONCURRENCY} (default: 4)",
    )
    sub.add_argument(
        "--max-retries",
        type=_non_negative,
        default=5,
        help="retries of a row answered 429 (default: 5)",
    )
    sub.add_argument(
        "--results",
        metavar="FILE",
        help="JSON lines log of every row's outcome, appended; rows it records as created "
        "are skipped on a re-run (default: FILE.results.jsonl)",
    )

    # organizations
    orgs = group("orgs", "list, show, create, update and delete organizations")
    list_options(leaf(orgs, "list", orgs_list, "list organizations (every page, streamed)"))
    sub = leaf(orgs, "get", orgs_get, "show one organization")
    sub.add_argument("code", help="organization code (org_...)")
    sub = leaf(orgs, "create", orgs_create, "create an organization")
    sub.add_argument("--name", required=True)
    sub.add_argument("--external-id")
    sub.add_argument("--handle")
    sub = leaf(orgs, "update", orgs_update, "change an organization")
    sub.add_argument("code", help="organization code (org_...)")
    sub.add_argument("--name")
    sub.add_argument("--external-id")
    sub.add_argument("--handle")
    sub = leaf(orgs, "delete", orgs_delete, "delete an organization")
    sub.add_argument("code", help="organization code (org_...)")

    # roles
    roles = group("roles", "list, show, create, update and delete roles")
    list_options(leaf(roles, "list", roles_list, "list roles (every page, streamed)"))
    sub = leaf(roles, "get", roles_get, "show one role")
    sub.add_argument("id", help="role id")
    sub = leaf(roles, "create", roles_create, "create a role")
    sub.add_argument("--name", required=True)
    sub.add_argument("--key", required=True)
    sub.add_argument("--description")
    sub = leaf(roles, "update", roles_update, "change a role (a missing name or key is kept)")
    sub.add_argument("id", help="role id")
    sub.add_argument("--name")
    sub.add_argument("--key")
    sub.add_argument("--description")
    sub = leaf(roles, "delete", roles_delete, "delete a role")
    sub.add_argument("id", help="role id")

    # permissions
    permissions = group("permissions", "list, create, update and delete permissions")
    list_options(
        leaf(permissions, "list", permissions_list, "list permissions (every page, streamed)")
    )
    sub = leaf(permissions, "create", permissions_create, "create a permission")
    sub.add_argument("--name", required=True)
    sub.add_argument("--key", required=True)
    sub.add_argument("--description")
    sub = leaf(permissions, "update", permissions_update, "change a permission")
    sub.add_argument("id", help="permission id")
    sub.add_argument("--name")
    sub.add_argument("--key")
    sub.add_argument("--description")
    sub = leaf(permissions, "delete", permissions_delete, "delete a permission")
    sub.add_argument("id", help="permission id")

    # feature flags
    flag_types = ("bool", "str", "int", "boolean", "string", "integer")
    levels = ("env", "org", "usr")
    flags = group("flags", "list, create, update and delete feature flags")
    sub = leaf(flags, "list", flags_list, "list the environment's feature flags")
    sub.add_argument("--columns", help="comma-separated fields for table and CSV output")
    sub = leaf(flags, "create", flags_create, "create a feature flag")
    sub.add_argument("--key", required=True)
    sub.add_argument("--name", required=True)
    sub.add_argument("--type", required=True, choices=flag_types)
    sub.add_argument("--default-value", required=True, help="true/false, a number or text")
    sub.add_argument("--description")
    sub.add_argument("--allow-override-level", choices=levels)
    sub = leaf(
        flags,
        "update",
        flags_update,
        "replace a feature flag's definition (a missing type or default value is kept)",
    )
    sub.add_argument("key", help="flag key")
    sub.add_argument("--name", required=True)
    sub.add_argument("--description", required=True)
    sub.add_argument("--type", choices=flag_types)
    sub.add_argument("--default-value")
    sub.add_argument("--allow-override-level", choices=levels, help="default: env")
    sub = leaf(flags, "delete", flags_delete, "delete a feature flag")
    sub.add_argument("key", help="flag key")

    # token
    sub = resources.add_parser(
        "token",
        parents=[common],
        help="print an M2M access token for the Management API (and nothing else)",
    )
    sub.set_defaults(handler=token)
    return parser


def secret_in_use(args: argparse.Namespace) -> Optional[str]:
    """The client secret this run would use, to keep it out of every message."""
    value: Optional[str] = getattr(args, "client_secret", None)
    if value:
        return value
    return from_env(None, *CLIENT_SECRET_ENV)  # .env included, as the client reads it
