from django.urls import path

from studio import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("studio/settings/", views.studio_settings, name="studio-settings"),
    path("studio/team/", views.team, name="team"),
    path("studio/tokens/", views.api_tokens, name="api-tokens"),
    path("studio/tokens/<int:pk>/revoke/", views.revoke_token, name="api-token-revoke"),
]
