"""A Django project signed in with Kinde (examples/django_app).

Configured from the environment: KINDE_DOMAIN (or KINDE_HOST), KINDE_CLIENT_ID,
KINDE_CLIENT_SECRET, KINDE_REDIRECT_URI (http://127.0.0.1:8000/callback),
KINDE_LOGOUT_REDIRECT_URI (http://127.0.0.1:8000/), KINDE_AUDIENCE (the API audience,
for the bearer endpoints), DJANGO_SECRET_KEY (the project's SECRET_KEY; the session
cookie key is derived from it unless KINDE_SESSION_SECRET is set).

    pip install "kinde-sdk[drf]"
    cd examples/django_app && python manage.py runserver 127.0.0.1:8000
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kinde_example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
