from django.contrib.auth import views as auth_views
from django.http import HttpResponse


def dashboard(request):
    return HttpResponse("ReelDesk")


LoginView = auth_views.LoginView
LogoutView = auth_views.LogoutView
studio_settings = team = api_tokens = revoke_token = dashboard
