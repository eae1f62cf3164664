from django.urls import path

from . import views
from .kinde import kinde_oauth

urlpatterns = [
    *kinde_oauth.integration.urlpatterns,  # /login /callback /logout /register /user
    path("", views.home),
    path("protected", views.protected),
    path("admin", views.admin),
    path("api/me", views.api_me),
    path("api/users", views.Users.as_view()),
    path("webhooks/kinde", views.kinde_events),
    path("health", views.health),
]
