"""Token stores for client-credentials tokens: in the process (default), in Redis, or in
a directory shared by the processes of one host. See :mod:`kinde_sdk._token_store` for
keys, encryption at rest and fault handling, and docs/many-processes.md."""

from __future__ import annotations

from .._token_store import FileTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore

__all__ = ["FileTokenStore", "MemoryTokenStore", "RedisTokenStore", "TokenStore"]
