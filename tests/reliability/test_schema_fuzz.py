"""Fuzzing the API with schemathesis against its own OpenAPI document (/api/schema/).

Each operation gets a bounded number of generated requests (valid and invalid), sent in
process through the WSGI application as a staff superuser with a token, on a database
holding a few rows of every kind. Every answer must be a non-5xx whose body and content
type match the schema.
"""
import json

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from alerting.models import AgentAction, Alert, AlertRule
from predictions.models import ModelVersion

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _load_schema():
    """The document /api/schema/ serves, generated the same way."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    schema.app = get_wsgi_application()
    return schema


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """As Django's test client does: the WSGI request must not close the test's connection
    (it would, inside the test's transaction, on PostgreSQL)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_headers(db):
    user = get_user_model().objects.create(username="fuzz-root", is_staff=True, is_superuser=True)
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


@pytest.fixture
def some_rows(make_prediction):
    """A little of everything, so detail and filter paths find rows now and then."""
    for n in range(3):
        make_prediction(prediction_id=f"p{n}", model_version="v1", actual_outcome=n % 2)
    ModelVersion.objects.create(version="v1", model_name="m")
    rule = AlertRule.objects.create(
        rule_id="r1", metric_name="accuracy", threshold=0.5,
        comparison="<", severity="warning", component="performance", channels=["console"],
    )
    Alert.objects.create(
        alert_id="a1", severity="warning", title="t", message="m", metric_name="accuracy",
        metric_value=0.4, threshold=0.5, component="performance", model_version="v1", rule=rule,
    )
    AgentAction.objects.create(action_id="x1", action_type="retrain_model", description="d",
                               requested_by="someone")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_without_5xx_and_as_documented(case, superuser_headers, some_rows):
    # Each request in a savepoint rolled back afterwards: requests stay independent, and a
    # statement PostgreSQL refused cannot poison the test's transaction for the next one
    # (in production each request runs in autocommit).
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=superuser_headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS)
