"""The admin site: the staff flag is not enough, the admin is for owners and producers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from studio import roles


class RoleAdminAuthenticationForm(AdminAuthenticationForm):
    """Refuse the admin sign-in for staff accounts whose role gives no admin access."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not roles.can_manage_business(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class StudioAdminSite(admin.AdminSite):
    site_header = _("ReelDesk administration")
    site_title = _("ReelDesk admin")
    index_title = _("Records")
    login_form = RoleAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and roles.can_manage_business(user))
