"""Base viewsets shared by every app's API.

Kept apart from studio.api_common, which DRF imports (as the pagination class) while
rest_framework.viewsets is still loading.
"""

from __future__ import annotations

from rest_framework import mixins, viewsets

from studio.api_common import ApiViewMixin, CreatedLocationMixin


class EditableViewSet(
    ApiViewMixin,
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and change: the shape of most ReelDesk resources."""


class DeletableViewSet(mixins.DestroyModelMixin, EditableViewSet):
    """EditableViewSet that may also delete (the service decides what is deletable)."""
