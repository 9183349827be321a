"""A bounded schemathesis run over the whole API (issue 7, items 9 and 10).

Every operation of ``/api/openapi.json``, through all of schemathesis' phases (coverage,
fuzzing, and the stateful phase that follows the document's links), in-process through WSGI so
nothing leaves the test. No answer may be a server error, and every answer must match the
document: its status code, its content type, its headers and its body schema.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status
from schemathesis.engine import events
from schemathesis.engine import from_schema

from tests.conftest import make_key

# A heavy suite (`make test-heavy`, run by CI after `make test`).
pytestmark = pytest.mark.heavy

# About 6,300 requests, one to two and a half minutes on two cores (schemathesis' default).
MAX_EXAMPLES = 100
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")


@dataclass
class Run:
    requests: int
    statuses: Counter
    phases: dict[str, str]
    operations: set[str]
    failures: list[str]


def _admin_keys(app) -> type:
    """An admin key for the run, and a new one after a 401: the run may revoke any key it
    finds through ``GET /api/v2/keys``, its own too."""

    class AdminKey:
        def get(self, case, context) -> str:
            return make_key(app, "admin")

        def set(self, case, data: str, context) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return AdminKey


def _run(app) -> Run:
    config = SchemathesisConfig.from_dict({
        "seed": 7,
        "workers": 1,
        "continue-on-failure": True,
        "cache": {"enabled": False},  # nothing written into the work tree, every run the same
        # Authorization comes from _admin_keys only (401 is tested in test_auth.py).
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       "with-security-parameters": False},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)
    schema.auth(refresh_interval=3600)(_admin_keys(app))
    run = Run(0, Counter(), {}, set(), [])
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(run, event)
        elif isinstance(event, events.PhaseFinished):
            run.phases[event.phase.name.value] = str(event.status)
        elif isinstance(event, (events.FatalError, events.NonFatalError)):
            run.failures.append(f"schemathesis error: {event}")
    return run


def _record(run: Run, event: events.ScenarioFinished) -> None:
    if event.recorder.label and not event.recorder.label.startswith("Stateful"):
        run.operations.add(event.recorder.label)
    for interaction in event.recorder.interactions.values():
        run.requests += 1
        if interaction.response is not None:
            run.statuses[interaction.response.status_code] += 1
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                run.failures.append(f"{check.name} on {failure.operation}: "
                                    f"{failure.title}: {failure.message[:500]}\n"
                                    f"  reproduce: {check.failure_info.code_sample}")


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe(
        app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    documented = {f"{method.upper()} {path}" for path, item in spec["paths"].items()
                  for method in item if method in ("get", "put", "post", "patch", "delete")}
    run = _run(app)
    unique = sorted(set(run.failures))
    print(f"\nschemathesis: {len(run.operations)} operations, {run.requests} requests, "
          f"{sum(n for code, n in run.statuses.items() if code >= 500)} 5xx, {len(unique)} failures; "
          f"statuses {dict(sorted(run.statuses.items()))}; phases {run.phases}")
    assert not unique, f"{len(unique)} failures:\n" + "\n".join(unique[:40])
    assert documented <= run.operations, sorted(documented - run.operations)
    assert run.phases["coverage"] == "success" and run.phases["fuzzing"] == "success"
    assert run.phases["stateful"] == "success"
    assert 500 not in run.statuses
    # The run reached the views, not only the error paths: resources were created and read.
    assert run.statuses[201] > 0 and run.statuses[200] > 0 and run.statuses[204] > 0
    assert run.statuses[401] < run.requests // 100  # the run kept its credentials
