from django.urls import path

from orders import portal_views as views

urlpatterns = [
    path("o/<str:token>/", views.portal_page, name="portal"),
    path("o/<str:token>/accept/", views.portal_accept, name="portal-accept"),
    path("o/<str:token>/decline/", views.portal_decline, name="portal-decline"),
    path("o/<str:token>/approve/", views.portal_approve, name="portal-approve"),
    path("o/<str:token>/revision/", views.portal_revision, name="portal-revision"),
    path("o/<str:token>/files/<int:did>/", views.portal_file, name="portal-file"),
    path("o/<str:token>/logo/", views.portal_logo, name="portal-logo"),
]
