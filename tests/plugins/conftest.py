"""Fixtures for plugin tests: the Prism mock server serving a vendor's official spec.

``make test`` installs Prism into ``.prism/``; a missing Prism fails these tests (they must
not silently pass). Each spec is served by one Prism process per test session, on loopback.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"
SPECS = Path(os.environ.get("ATOM_SPECS_DIR", ROOT.parent / "shared" / "specs"))
# Extra Prism options per spec. Stripe's invoice schema is too circular for Prism's static
# answers (POST /v1/invoices gives 500 SCHEMA_TOO_COMPLEX), so that spec is served with
# dynamic examples from a fixed seed: the same request gets the same answer on every run.
PRISM_OPTIONS = {"stripe": ("--dynamic", "--seed", "atom")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrismServers:
    """One Prism process per spec for the whole test run, shared by the pytest-xdist workers:
    the first worker that needs a spec starts it (under a file lock) and records its pid and
    port in the run's shared temporary folder; the others reuse it. The last worker to finish
    stops them all (a Prism start costs 3-17 s, and the template runs need every spec on
    every worker)."""

    def __init__(self, shared: Path, workers: int) -> None:
        self._dir = shared
        self._workers = workers
        self._urls: dict[str, str] = {}

    def __call__(self, spec: str, timeout: float = 120.0) -> str:
        """Start (once per run) Prism for ``specs/<spec>.json`` and return its base URL."""
        import json

        from filelock import FileLock

        if spec in self._urls:
            return self._urls[spec]
        if not PRISM.exists():
            pytest.fail(f"Prism is not installed at {PRISM}: run `make test` (it installs it)")
        spec_file = SPECS / f"{spec}.json"
        if not spec_file.exists():
            pytest.fail(f"spec {spec_file} not found (shared/ must sit beside the repository)")
        record = self._dir / f"prism-{spec}.json"
        with FileLock(str(self._dir / f"prism-{spec}.lock")):
            if record.exists():
                known = json.loads(record.read_text())
                if _alive(known["pid"]) and _listening(known["port"]):
                    self._urls[spec] = f"http://127.0.0.1:{known['port']}"
                    return self._urls[spec]
            port = _free_port()
            log = open(self._dir / f"prism-{spec}.log", "w+")
            proc = subprocess.Popen(
                [str(PRISM), "mock", *PRISM_OPTIONS.get(spec, ()), "-h", "127.0.0.1", "-p",
                 str(port), str(spec_file)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                log.seek(0)
                if "Prism is listening" in log.read():
                    record.write_text(json.dumps({"pid": proc.pid, "port": port}))
                    self._urls[spec] = f"http://127.0.0.1:{port}"
                    return self._urls[spec]
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"Prism exited while starting {spec}: {log.read()[-2000:]}")
                time.sleep(0.2)
            proc.kill()
            pytest.fail(f"Prism did not start for {spec} within {timeout}s")

    def close(self) -> None:
        """Count this worker out; the last one out stops every Prism of the run."""
        import json
        import signal

        from filelock import FileLock

        with FileLock(str(self._dir / "prism-workers.lock")):
            done_file = self._dir / "prism-workers-done"
            done = int(done_file.read_text() or 0) + 1 if done_file.exists() else 1
            done_file.write_text(str(done))
            if done < self._workers:
                return
            for record in self._dir.glob("prism-*.json"):
                pid = json.loads(record.read_text())["pid"]
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                record.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _shared_dir(factory, worker: str) -> Path:
    # Under xdist every worker's basetemp (…/popen-gwN) shares one parent folder for the run.
    base = factory.getbasetemp()
    shared = (base.parent if worker != "master" else base) / "prism-shared"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def prism(tmp_path_factory, worker_id):
    return PrismServers(_shared_dir(tmp_path_factory, worker_id),
                        int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def pytest_sessionfinish(session):
    """Every worker counts itself out here (whether or not it used Prism); the last one stops
    the run's Prism processes."""
    worker = getattr(session.config, "workerinput", {}).get("workerid", "master")
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    PrismServers(_shared_dir(factory, worker),
                 int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))).close()


def assert_prism_accepted(response) -> None:
    """Fail when Prism reported the request as violating the spec."""
    import json

    raw = response.headers.get("sl-violations")
    if raw and raw.startswith("Too many violations!"):
        # Prism truncates a long list (not JSON then): its placeholder answers produce those,
        # and they are of the response; a request violation would be named in it, and would
        # not be answered 2xx.
        assert '"location":["request"' not in raw, f"Prism rejected the request: {raw[:500]}"
        assert response.status_code < 400
        return
    # Prism also lists problems of its own example responses; only the request's count.
    violations = [v for v in json.loads(raw or "[]") if (v.get("location") or [""])[0] == "request"]
    assert not violations, f"Prism rejected the request: {violations}"


@pytest.fixture
def sent_to_prism(prism_url):
    """Every request to Prism (the test module's ``prism_url`` fixture) passes through and is
    recorded with Prism's answer, for its ``sl-violations`` (assert_prism_accepted)."""
    import re

    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            rsps.add(responses.PassthroughResponse(method, re.compile(re.escape(prism_url))))
        yield rsps.calls


@pytest.fixture
def live(app):
    """The live integration of a connection (its JSON), as the runtime builds it for the
    scheduler's poller."""
    from atom.extensions import db
    from atom.models import Connection
    from atom.state import get_state

    def get(conn: dict):
        with app.app_context():
            return get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))

    return get


@pytest.fixture
def run_action(client, keys):
    """POST an action run through the API, as a user would."""
    def run(conn: dict, action: str, body: dict):
        return client.post(f"/api/v2/connections/{conn['id']}/actions/{action}",
                           headers=keys["editor"], json=body)

    return run


@pytest.fixture
def check_connection(client, keys):
    """POST a connection test through the API."""
    def run(conn: dict):
        return client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])

    return run


@pytest.fixture
def sleeps(monkeypatch):
    """Record the client's sleeps instead of sleeping (retry waits, rate-limit pauses)."""
    from atom.integrations.clock import SYSTEM_CLOCK

    slept: list[float] = []
    monkeypatch.setattr(SYSTEM_CLOCK, "sleep", slept.append)
    return slept


def as_contract_fake(manager):
    """A fake's ``contract_fake()`` from a context manager yielding ``{"settings",
    "credentials"}``: an object with both and ``stop()`` (tests/plugins/test_spec_contract.py,
    template runs)."""
    from types import SimpleNamespace

    given = manager.__enter__()
    return SimpleNamespace(settings=given["settings"], credentials=given["credentials"],
                           stop=lambda: manager.__exit__(None, None, None))


def assert_all_accepted(calls) -> None:
    """Something reached Prism, and Prism accepted every request with a 2xx."""
    assert calls, "nothing reached Prism"
    for call in calls:
        assert_prism_accepted(call.response)
        assert 200 <= call.response.status_code < 300
