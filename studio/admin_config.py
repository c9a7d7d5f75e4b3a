"""Replaces django.contrib.admin in INSTALLED_APPS so `admin.site` is the role-gated site.

Kept free of model imports: app configs load before the models do.
"""

from django.contrib.admin.apps import AdminConfig


class StudioAdminConfig(AdminConfig):
    default_site = "studio.admin_site.StudioAdminSite"
