"""Contract fuzzing: schemathesis generates requests for every operation of the live
OpenAPI schema and runs them in-process against the WSGI app, as an anonymous visitor, a
customer and an admin. Every response must be non-5xx and conform to the schema (status
code documented, body valid). It grows by itself as endpoints are added.

`transaction=True`: the WSGI path fires Django's request_finished signal, which closes the
connection; a test wrapped in one transaction would lose it.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.accounts.factories import UserFactory
from tests.conftest import access_token_for

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

pytestmark = [pytest.mark.django_db(transaction=True)]


def _operations():
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _headers_for(role):
    # Schemathesis's WSGI transport sends requests' default Accept-Encoding (br, gzip) but,
    # unlike an HTTP client, never decodes the answer: ask for plain bodies.
    plain = {"Accept-Encoding": "identity"}
    if role == "anonymous":
        return plain
    user = UserFactory(role=role, is_verified=True)
    return {**plain, "Authorization": f"Bearer {access_token_for(user)}"}


@pytest.mark.parametrize("role", ["anonymous", "customer", "admin"])
def test_every_operation_honours_the_contract(role, settings_override=None):
    from django.test import override_settings

    operations = _operations()
    assert operations, "the schema has no operations"
    headers = _headers_for(role)
    failures = []

    with override_settings(RATELIMIT_ENABLE=False):
        for operation in operations:

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")

    assert not failures, "\n\n".join(failures)
