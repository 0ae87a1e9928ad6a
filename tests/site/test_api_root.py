"""``GET /api/v1/`` lists the endpoints by name, as absolute URLs (SPEC §11)."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema_paths(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return schema["paths"]


def test_the_root_lists_every_readable_endpoint_without_a_parameter(client, schema_paths):
    response = client.get("/api/v1/")  # no credentials needed, like the document
    assert response.status_code == 200
    urls = response.json()
    assert urls["schema"] == "http://testserver/api/schema/"
    assert urls["docs"] == "http://testserver/api/docs/"
    assert urls["predictions"] == "http://testserver/api/v1/predictions/"
    assert urls["metrics/accuracy"] == "http://testserver/api/v1/metrics/accuracy/"
    listed = {url.removeprefix("http://testserver") for name, url in urls.items()
              if name not in ("schema", "docs")}
    # What a GET answers; POST-only actions (outcomes/, drift-reports/compute/) are in the
    # document, where a generated client would otherwise follow a link into a 405.
    documented = {path for path, operations in schema_paths.items()
                  if "{" not in path and path != "/api/v1/" and "get" in operations}
    assert listed == documented
    assert "/api/v1/drift-reports/compute/" in schema_paths
    assert "drift-reports/compute" not in urls
    assert "/api/v1/" in schema_paths


def test_each_listed_url_answers(api_client_for):
    reader = api_client_for()
    urls = reader.get("/api/v1/").json()
    for name, url in urls.items():
        status = reader.get(url).status_code
        assert status in (200, 400), f"{name}: {url} → {status}"


def test_the_root_names_a_query_parameter_it_does_not_take(client):
    response = client.get("/api/v1/?verbose=1")
    assert response.status_code == 400
    assert "verbose" in response.json()


def test_the_root_follows_the_host_asked_for(client):
    urls = client.get("/api/v1/", HTTP_HOST="localhost:8000").json()
    assert urls["alerts"] == "http://localhost:8000/api/v1/alerts/"


def test_a_wrong_token_is_refused_even_here(client):
    response = client.get("/api/v1/", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401
