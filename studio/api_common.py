"""What every API endpoint shares: pagination and one error shape for every 4xx.

Error body: {"error": {"status": 409, "code": "invalid_transition",
"message": "…", "fields": {"price": ["…"]}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from studio.errors import DomainError


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "__all__" if key == "non_field_errors" else str(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, messages in _flatten(item).items():
                        out[f"{name}.{index}.{sub}"] = messages
            elif isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    out[f"{name}.{sub}"] = messages
            elif isinstance(value, list):
                out[name] = [str(v) for v in value]
            else:
                out[name] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"__all__": [str(v) for v in detail]}
    return {}


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {
        "error": {
            "status": status_code,
            "code": code,
            "message": message,
            "fields": fields or {},
        }
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.status_code, exc.code, exc.message, exc.fields),
            status=exc.status_code,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()), ["Invalid input."])[0]
        response.data = error_body(response.status_code, "invalid", first, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else "Request failed."
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = error_body(response.status_code, str(code), message)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
