"""Settings of the example project. The Kinde integration only reads them."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")  # required: see manage.py
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "kinde_example.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kinde_sdk.frameworks.django.KindeMiddleware",
]
DATABASES: dict[str, dict[str, str]] = {}

# Where KindeMiddleware finds the OAuth client (built in kinde_example/kinde.py).
KINDE_OAUTH = "kinde_example.kinde.kinde_oauth"
# Paths that never need a session, even under KINDE_PROTECTED_PATHS.
KINDE_EXCLUDED_PATHS = ["/health", "/static/"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["kinde_sdk.frameworks.django.KindeBearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["kinde_sdk.frameworks.django.KindePermission"],
    "UNAUTHENTICATED_USER": None,
}
