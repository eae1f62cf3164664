"""The project's Kinde OAuth client, settings from the environment."""

from kinde_sdk.auth import OAuth

kinde_oauth = OAuth(framework="django")
