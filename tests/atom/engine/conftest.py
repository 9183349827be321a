"""Fixtures for the workflow-engine tests: the app with its engine shut down after the test,
a scripted fake service on loopback, an http connection to it, and a small API helper.

Every test drives the engine through the REST API (or the CLI / trigger functions the product
exposes) against :class:`tests.fakes.FakeServer`; nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from atom.engine import get_engine
from atom.extensions import db
from tests.fakes import FakeServer


def close_engine(app, timeout: float = 30.0) -> None:
    """Stop the engine's pools and wait (bounded) for their threads, so no thread outlives the
    test; an orchestrator that does not end is a bug and fails the test's teardown."""
    engine = get_engine(app)
    executor = engine._executor
    engine.close()
    if executor is None:
        return
    deadline = time.monotonic() + timeout
    stuck = []
    for pool in (executor._executions, executor._steps):
        for thread in list(pool._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                stuck.append(thread.name)
    if stuck:
        pytest.fail(f"engine threads still running {timeout}s after the test: {stuck}")


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


@pytest.fixture
def fake(app):
    """The scripted service; torn down before the app so slow answers end early."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def conn(create_connection, fake) -> dict:
    return create_connection("http", {"base_url": fake.url, "max_attempts": 1})


def rows(app, model, **filters) -> list:
    with app.app_context():
        return list(db.session.scalars(db.select(model).filter_by(**filters)))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def post_step(sid: str, path: str, body: Any = None, deps: tuple[str, ...] | list[str] = (),
              conn_id: int | None = None, **extra: Any) -> dict:
    """An ``http.post`` action step."""
    params: dict[str, Any] = {"path": path}
    if body is not None:
        params["json"] = body
    step = {"id": sid, "type": "action", "service": "http", "action": "post",
            "depends_on": list(deps), "parameters": params, **extra}
    if conn_id is not None:
        step["connection"] = conn_id
    return step


def manual(name: str, steps: list[dict], **extra: Any) -> dict:
    return {"name": name, "trigger": {"type": "manual"}, "steps": steps, **extra}


class Api:
    """The workflow API as the tests use it (editor key)."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def create(self, definition: dict) -> dict:
        response = self.client.post("/api/v2/ai-workflows", json=definition, headers=self.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def put(self, wf_id: int, definition: dict) -> dict:
        response = self.client.put(f"/api/v2/ai-workflows/{wf_id}", json=definition, headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def execute(self, wf_id: int, payload: Any = None, wait: float | None = 20, **headers: str):
        url = f"/api/v2/ai-workflows/{wf_id}/execute" + (f"?wait={wait}" if wait else "")
        return self.client.post(url, json=payload if payload is not None else {},
                                headers={**self.headers, **headers})

    def run(self, wf_id: int, payload: Any = None, wait: float = 20) -> dict:
        """Execute and wait for the end; return the finished execution."""
        response = self.execute(wf_id, payload, wait=wait)
        assert response.status_code in (200, 202), response.get_json()
        body = response.get_json()
        if body["status"] not in ("succeeded", "failed", "cancelled"):
            body = self.wait_finished(body["id"], wait)
        return body

    def execution(self, ex_id: int) -> dict:
        response = self.client.get(f"/api/v2/executions/{ex_id}", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def wait_for(self, ex_id: int, predicate, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.execution(ex_id)
            if predicate(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {ex_id} never got there: {body}")
            time.sleep(0.02)

    def wait_finished(self, ex_id: int, timeout: float = 20) -> dict:
        return self.wait_for(ex_id, lambda b: b["status"] in ("succeeded", "failed", "cancelled"),
                             timeout)


def steps_of(execution: dict) -> dict[str, dict]:
    return {s["step_id"]: s for s in execution["steps"]}


@pytest.fixture
def api(client, keys) -> Api:
    return Api(client, keys["editor"])
