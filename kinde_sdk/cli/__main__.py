"""``python -m kinde_sdk.cli``."""

from __future__ import annotations

from . import main

raise SystemExit(main())
