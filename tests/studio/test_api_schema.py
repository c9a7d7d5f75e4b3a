"""The OpenAPI schema, the docs page, and Schemathesis checking the API against its schema.

The Schemathesis test loads /api/schema/ in-process and runs every operation it finds
(so new endpoints are covered without touching this file) as the studio owner, with a
few real objects in the database so that detail addresses sometimes exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.test import Client as HttpClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.services import add_deliverable, create_order
from studio.services import create_api_token
from studio.wsgi import application
from tests.factories import ClientFactory

ERROR_REF = "#/components/schemas/Error"


def _schema(http: HttpClient) -> dict[str, Any]:
    response = http.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


def _error_ref(response: dict[str, Any]) -> str:
    return response["content"]["application/json"]["schema"]["$ref"]


# --- The schema ---------------------------------------------------------------------------


def test_schema_is_openapi_3_and_needs_no_login(db):
    schema = _schema(HttpClient())

    assert schema["openapi"].startswith("3.")
    assert "/api/orders/{id}/transition/" in schema["paths"]
    assert "/api/orders/{order_pk}/deliverables/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Personal API token",
    }


def test_every_operation_documents_its_errors_with_the_error_component(db):
    schema = _schema(HttpClient())
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"status", "code", "message", "fields"}

    operations = _operations(schema)
    assert len(operations) >= 16
    for method, path, operation in operations:
        responses = operation["responses"]
        for code in ("401", "403"):
            assert _error_ref(responses[code]) == ERROR_REF, (method, path, code)
        if "{" in path:
            assert _error_ref(responses["404"]) == ERROR_REF, (method, path)
        if "requestBody" in operation:
            for code in ("400", "415"):
                assert _error_ref(responses[code]) == ERROR_REF, (method, path, code)
        assert operation.get("summary") or operation.get("description"), (method, path)


def test_transition_documents_conflict_and_the_warning(db):
    schema = _schema(HttpClient())
    operation = schema["paths"]["/api/orders/{id}/transition/"]["post"]

    assert _error_ref(operation["responses"]["409"]) == ERROR_REF
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Order"
    }
    order = schema["components"]["schemas"]["Order"]
    assert "warning" in order["properties"]
    assert "warning" not in order["required"]


def test_money_fields_are_documented_as_optional_because_artists_do_not_get_them(db):
    order = _schema(HttpClient())["components"]["schemas"]["Order"]

    for name in ("price", "currency", "deposit_percent", "deposit_amount"):
        assert name in order["properties"]
        assert name not in order["required"]
    assert "reference" in order["required"]


def test_deliverable_upload_documents_multipart_file_and_json_link(db):
    schema = _schema(HttpClient())
    body = schema["paths"]["/api/orders/{order_pk}/deliverables/"]["post"]["requestBody"]

    assert set(body["content"]) == {"multipart/form-data", "application/json"}
    upload = schema["components"]["schemas"]["DeliverableUploadRequest"]
    assert upload["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": upload["properties"]["file"]["description"],
    }
    assert "file" not in schema["components"]["schemas"]["DeliverableLinkRequest"]["properties"]


# --- The docs page ------------------------------------------------------------------------


def test_docs_page_loads_swagger_ui_from_our_own_static_files(db):
    response = HttpClient().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    # Every script is a file of our own origin: nothing inline for the CSP to block.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    assert all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_docs_start_up_script_is_served_as_javascript_pointing_at_the_schema(db):
    response = HttpClient().get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in response.content.decode()


# --- Schemathesis -----------------------------------------------------------------------


@dataclass
class World:
    headers: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def api_world(owner) -> World:
    client = ClientFactory()
    # Through the service, so that the reference counter knows about it.
    order = create_order(
        actor=owner, client=client, title="Launch teaser", price=Decimal("1500"), assignee=owner
    )
    deliverable = add_deliverable(
        actor=owner, order=order, title="Final cut", url="https://example.com/cut.mp4"
    )
    _token, raw = create_api_token(user=owner, name="schemathesis")
    return World(
        headers={"Authorization": f"Bearer {raw}"},
        ids={
            "clients": client.pk,
            "orders": order.pk,
            "deliverables": deliverable.pk,
            "users": owner.pk,
        },
    )


def _generated_schema() -> dict[str, Any]:
    """The schema /api/schema/ serves, built in-process at collection time (no request,
    so no database) so that every operation becomes its own test."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


GENERATED_SCHEMA = _generated_schema()
api_schema = schemathesis.openapi.from_dict(GENERATED_SCHEMA)


def test_served_schema_is_the_one_schemathesis_checks(db):
    assert _schema(HttpClient()) == GENERATED_SCHEMA


# Body fields that hold the id of another resource.
BODY_REFERENCES = {"client": "clients", "assignee": "users"}


def _aim_at_real_objects(case: Any, ids: dict[str, int]) -> None:
    """Point ids at objects that exist, so that operations are exercised beyond 404 and
    "no such client": every other id in the path (the rest keep testing 404), every id
    in a body. The resource an `{id}` names is the path segment before it; `{order_pk}`
    is an order."""
    body = case.body
    if isinstance(body, dict):
        for field, resource in BODY_REFERENCES.items():
            value = body.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and resource in ids:
                body[field] = ids[resource]
    params = case.path_parameters
    if not params:
        return
    segments = case.path.strip("/").split("/")
    for index, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)\}", segment)
        if not match:
            continue
        name = match.group(1)
        resource = "orders" if name == "order_pk" else segments[index - 1]
        value = str(params.get(name, ""))
        if resource in ids and value.isdigit() and int(value) % 2 == 0:
            params[name] = str(ids[resource])


@pytest.fixture
def _keep_test_connection():
    """Calling the WSGI application directly fires request_started/finished, whose
    close_old_connections would close the test's PostgreSQL connection in the middle of
    its transaction. Django's test Client disconnects it the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@api_schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.usefixtures("_keep_test_connection")
def test_api_conforms_to_its_schema(case, api_world):
    _aim_at_real_objects(case, api_world.ids)
    response = case.call(app=application, headers=api_world.headers)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
