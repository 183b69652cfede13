import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_docs_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200


@pytest.mark.django_db
def test_docs_assets_are_local(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_other_hosts(client, path):
    html = client.get(path).content.decode()
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")
