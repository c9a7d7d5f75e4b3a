from django.contrib import admin
from django.urls import include, path

from studio import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("studio.api_urls")),
    path("", include("orders.portal_urls")),
    path("", include("studio.web_urls")),
    path("", include("orders.urls")),
    path("", include("billing.urls")),
    path("", include("billing.urls_subscriptions")),
    path("", include("billing.urls_expense_import")),
    path("", include("billing.urls_expenses")),
    path("", include("billing.urls_reports")),
]
