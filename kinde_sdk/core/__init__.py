"""Core building blocks shared by the auth and framework layers.

Nothing here imports from ``kinde_sdk.auth``, ``kinde_sdk.management`` or
``kinde_sdk.frameworks``: data flows down into core, never back up.
"""
