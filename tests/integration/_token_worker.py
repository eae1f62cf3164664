"""A worker process for the cross-process token tests: one provider with a shared store,
``threads`` threads calling ``token()`` at once.

``python -m tests.integration._token_worker '<json config>'`` prints ``ready``, waits for a
line on stdin (the test's barrier across processes), runs, and prints one JSON line:
``{"tokens": [...], "errors": [...]}``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading

from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._transport import Transport
from kinde_sdk.auth import FileTokenStore, RedisTokenStore, TokenStore


def store_from(config: dict[str, object]) -> TokenStore:
    options = {
        "lock_ttl": float(config.get("lock_ttl", 15.0)),  # type: ignore[arg-type]
        "lock_wait": float(config.get("lock_wait", 20.0)),  # type: ignore[arg-type]
    }
    if config["store"] == "redis":
        return RedisTokenStore(str(config["redis_url"]), **options)  # type: ignore[arg-type]
    return FileTokenStore(str(config["directory"]), **options)  # type: ignore[arg-type]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = json.loads(sys.argv[1])
    transport = Transport(timeout=30.0)
    provider = ClientCredentialsTokenProvider(
        token_url=str(config["token_url"]),
        client_id=str(config["client_id"]),
        client_secret=str(config["client_secret"]),
        audience=None,
        transport=transport,
        token_store=store_from(config),
    )
    print("ready", flush=True)
    sys.stdin.readline()
    tokens: list[str] = []
    errors: list[str] = []

    def call() -> None:
        try:
            tokens.append(provider.token())
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=call) for _ in range(int(config.get("threads", 1)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"tokens": tokens, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
