"""Schemathesis fuzzes every operation of the generated OpenAPI document
against a real server: no generated request may cause a 5xx, and responses
follow the document."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.server.support import TOKENS, Server

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12   # 13 operations: well under a minute


def operations(server: Server) -> list[Any]:
    with server.client("root") as c:
        doc = c.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_request_causes_a_server_error(server: Server) -> None:
    found = operations(server)
    assert len(found) == 13  # four flows' starts and nine shared operations
    auth = {"Authorization": f"Bearer {TOKENS['root']}"}
    failures: list[str] = []
    for operation in found:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def probe(case: Any) -> None:
            response = case.call(base_url=server.url, headers=auth)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: " \
                                                f"{response.status_code} {response.text[:300]}"
            # A cursor is opaque: only one the server gave is valid, which no
            # schema can say, so a made-up one is 400 and is only checked for 5xx.
            if "cursor" not in (case.query or {}):
                case.validate_response(response)

        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
    assert "Traceback" not in server.log.read_text(encoding="utf-8")
