from django.urls import include, path

from studio import views, views_calendar

urlpatterns = [
    path("", include("studio.tool_urls")),
    path("", views.dashboard, name="dashboard"),
    path("calendar/", views_calendar.calendar_view, name="calendar"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("studio/settings/", views.studio_settings, name="studio-settings"),
    path("studio/logo/", views.studio_logo, name="studio-logo"),
    path("studio/team/", views.team, name="team"),
    path("studio/team/<int:pk>/role/", views.team_role, name="team-role"),
    path("studio/team/<int:pk>/deactivate/", views.team_deactivate, name="team-deactivate"),
    path("studio/team/<int:pk>/reactivate/", views.team_reactivate, name="team-reactivate"),
    path("studio/tokens/", views.api_tokens, name="api-tokens"),
    path("studio/tokens/<int:pk>/revoke/", views.revoke_token, name="api-token-revoke"),
    path("", include("studio.urls_reliability")),
    path("", include("studio.urls_export")),
]
