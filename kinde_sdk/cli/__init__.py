"""The ``kinde`` command: the Management API from a shell (``python -m kinde_sdk.cli``).

``kinde users|orgs|roles|permissions|flags ...``, ``kinde users import FILE`` and
``kinde token``; ``kinde --help`` for the details. Credentials come from the same
environment variables as :class:`~kinde_sdk.management.ManagementClient`. Exit status:
0 success, 1 API or network error, 2 usage or configuration error. Only the standard
library is used (argparse, csv, json), so the command needs no extra.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Optional, TextIO

from ..errors import KindeAPIError, KindeConfigurationError, KindeError
from ._commands import PROG, Context, UsageError, build_parser, secret_in_use

__all__ = ["main"]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_PIPE = 141  # 128 + SIGPIPE, as the shell reports a process killed by a closed pipe
EXIT_INTERRUPTED = 130


def describe_api_error(exc: KindeAPIError) -> str:
    parts = [f"status {exc.status}"]
    if exc.code:
        parts.append(f"code {exc.code}")
    if exc.message:
        parts.append(f"message {exc.message!r}")
    parts.append(f"request id {exc.request_id or 'unknown'}")
    where = f" ({exc.method} {exc.url})" if exc.method and exc.url else ""
    return f"API error{where}: " + ", ".join(parts)


def _redact(text: str, secret: Optional[str]) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    return text


def main(
    argv: Optional[Sequence[str]] = None,
    *,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
) -> int:
    """Run ``kinde`` with ``argv`` (default: the process arguments); return the exit
    status. Argument errors exit through argparse with status 2."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(err)
        return EXIT_USAGE
    secret = secret_in_use(args)

    def fail(message: str, status: int) -> int:
        err.write(f"{PROG}: {_redact(message, secret)}\n")
        err.flush()
        return status

    ctx = Context(args=args, out=out, err=err)
    try:
        status: int = args.handler(ctx)
        return status
    except UsageError as exc:
        return fail(f"error: {exc}", EXIT_USAGE)
    except KindeConfigurationError as exc:
        # The client's hint names its keyword arguments; here they are options.
        hint = re.sub(
            r"pass (\w+)=\.\.\.", lambda m: "pass --" + m.group(1).replace("_", "-"), str(exc)
        )
        return fail(f"configuration error: {hint}", EXIT_USAGE)
    except KindeAPIError as exc:
        return fail(describe_api_error(exc), EXIT_API)
    except KindeError as exc:
        return fail(f"error: {exc}", EXIT_API)
    except ValueError as exc:  # a value the API models refuse, e.g. --default-value
        return fail(f"error: {exc}", EXIT_USAGE)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # The reader went away (`kinde users list | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_PIPE
        return fail(f"error: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    finally:
        with contextlib.suppress(Exception):  # closing must not mask the result
            ctx.close()
