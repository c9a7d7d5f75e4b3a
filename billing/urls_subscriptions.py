"""Staff pages for tool subscriptions (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from billing.views import subscriptions as views

urlpatterns = [
    path("subscriptions/", views.subscription_list, name="subscription-list"),
    path("subscriptions/new/", views.subscription_create, name="subscription-create"),
    path("subscriptions/<int:pk>/", views.subscription_detail, name="subscription-detail"),
    path("subscriptions/<int:pk>/edit/", views.subscription_edit, name="subscription-edit"),
    path("subscriptions/<int:pk>/cancel/", views.subscription_cancel, name="subscription-cancel"),
    path("subscriptions/<int:pk>/resume/", views.subscription_resume, name="subscription-resume"),
    path("subscriptions/<int:pk>/delete/", views.subscription_delete, name="subscription-delete"),
]
