"""The ``ROOT_URLCONF`` of the Django tests (Django is configured once per process, by
``tests.integration._frameworks.configure_django``): each test module's fixture fills
``urlpatterns`` with its views and empties it afterwards."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
