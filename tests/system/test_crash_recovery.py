"""Durability under the deployment command: kill -9 a real gunicorn (master and both workers) in
the middle of an execution, start it again, and check that the execution finishes with every
step run, no finished step called again, and the interrupted step resumed exactly once.

The fake service runs on a thread of this test process (127.0.0.1), so it outlives gunicorn and
counts every request it gets.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn -c config/gunicorn.conf.py wsgi:app`` in its own session (process group)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path = env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                                     env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers die at once, nothing cleans up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        # Wait until no process of the group is left (the workers are not our children).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError("gunicorn workers survived SIGKILL")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(base: str, headers: dict, server: Gunicorn, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{base}/api/v2/ai-workflows", headers=headers, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or server.proc.poll() is not None:
            pytest.fail("gunicorn did not come up:\n" + server.log()[-4000:])
        time.sleep(0.2)


def _poll(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


class Deployment:
    """A migrated instance in ``tmp_path`` with an admin key, served by gunicorn (two workers)
    on a free port: ``start()`` a new server on the same data, ``kill()`` the running one."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        from cryptography.fernet import Fernet

        port = _free_port()
        self.tmp_path = tmp_path
        self.env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
                    "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "2",
                    "ATOM_EXECUTION_RECOVERY_INTERVAL_S": "1", "ATOM_GUNICORN_LOGLEVEL": "warning",
                    **settings}
        self.base = f"http://127.0.0.1:{port}"
        subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                       capture_output=True)
        created = subprocess.run([str(BIN / "atom"), "keys", "create", "--name", "system", "--role", "admin"],
                                 env=self.env, cwd=ROOT, check=True, capture_output=True, text=True)
        self.headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        self.servers: list[Gunicorn] = []

    def start(self) -> Gunicorn:
        server = Gunicorn(self.env, self.tmp_path / f"gunicorn-{len(self.servers) + 1}.log")
        self.servers.append(server)
        server.start()
        _wait_ready(self.base, self.headers, server)
        return server

    def kill(self) -> None:
        self.servers[-1].kill()

    def logs(self) -> str:
        return "".join(server.log() for server in self.servers)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(f"{self.base}{path}", headers=self.headers, json=body, timeout=10)

    def http_connection(self, fake: FakeServer) -> int:
        conn = self.post("/api/v2/connections", {
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert conn.status_code == 201, conn.text
        return conn.json()["id"]

    def state(self, ex_id: int) -> tuple[dict, dict[str, str]]:
        body = requests.get(f"{self.base}/api/v2/executions/{ex_id}", headers=self.headers, timeout=10).json()
        return body, {s["step_id"]: s["status"] for s in body["steps"]}

    def finished(self, ex_id: int, timeout: float = 60) -> tuple[dict, dict[str, str]]:
        def done():
            body, steps = self.state(ex_id)
            return (body, steps) if body["status"] in ("succeeded", "failed", "cancelled") else None

        return _poll(done, timeout, f"execution {ex_id} to finish")


@pytest.fixture
def deployment(tmp_path):
    made: list[Deployment] = []

    def make(**settings: str) -> Deployment:
        made.append(Deployment(tmp_path, **settings))
        return made[-1]

    yield make
    for d in made:
        d.stop()


@pytest.mark.system
def test_kill_9_of_gunicorn_mid_execution_then_restart_finishes_it(deployment):
    d = deployment()

    fake = FakeServer()
    slow_calls: list[float] = []
    lock = threading.Lock()

    def slow(req):
        with lock:
            slow_calls.append(time.monotonic())
            first = len(slow_calls) == 1
        # The first call hangs until gunicorn is killed under it; the resumed one is quick.
        return reply(200, {"slow": "done"}, delay=60 if first else 0.3)

    fake.always("/a", reply(201, {"id": 31}))
    fake.always("/b", lambda req: reply(200, {"got": req.json()}))
    fake.always("/slow", slow)
    fake.always("/d", reply(200, {"ok": True}))
    try:
        d.start()
        step = {"type": "action", "service": "http", "action": "post", "connection": d.http_connection(fake)}
        wf = d.post("/api/v2/ai-workflows", {
            "name": "survives kill -9", "trigger": {"type": "manual"}, "steps": [
                {**step, "id": "a", "parameters": {"path": "/a", "json": {"n": "{{ trigger.n }}"}}},
                {**step, "id": "b", "depends_on": ["a"],
                 "parameters": {"path": "/b", "json": {"id": "{{ steps.a.output.body.id }}"}}},
                {**step, "id": "slow", "depends_on": ["b"], "parameters": {"path": "/slow"}},
                {**step, "id": "d", "depends_on": ["slow"],
                 "parameters": {"path": "/d", "json": {"slow": "{{ steps.slow.output.body.slow }}"}}},
            ]})
        assert wf.status_code == 201, wf.text
        started = d.post(f"/api/v2/ai-workflows/{wf.json()['id']}/execute", {"n": 1})
        assert started.status_code == 202, started.text
        ex_id = started.json()["id"]

        def mid_flight():
            body, steps = d.state(ex_id)
            ok = (steps.get("a") == "succeeded" and steps.get("b") == "succeeded"
                  and steps.get("slow") == "running" and fake.count("/slow") == 1)
            return (body, steps) if ok else None

        before, _ = _poll(mid_flight, 30, "a and b done, slow running")
        assert before["status"] == "running"

        d.kill()
        assert fake.count("/a") == 1 and fake.count("/b") == 1 and fake.count("/d") == 0

        second = d.start()
        d.finished(ex_id)
        # Let both workers sweep a few more times: nobody may resume it again.
        time.sleep(3)
        done, steps = d.state(ex_id)
        assert done["status"] == "succeeded", (done, d.logs()[-4000:])
        assert steps == {"a": "succeeded", "b": "succeeded", "slow": "succeeded", "d": "succeeded"}
        # No finished step was called again; the interrupted one ran once more, with its key.
        assert (fake.count("/a"), fake.count("/b"), fake.count("/slow"), fake.count("/d")) == (1, 1, 2, 1)
        keys = [r.headers["Idempotency-Key"] for r in fake.calls("/slow")]
        assert keys == [f"atom-{ex_id}-slow-1"] * 2
        assert fake.calls("/b")[0].json() == {"id": 31}
        assert fake.calls("/d")[0].json() == {"slow": "done"}
        by_id = {s["step_id"]: s for s in done["steps"]}
        assert by_id["slow"]["attempt"] == 2 and by_id["a"]["attempt"] == 1
        assert by_id["a"]["output"]["body"] == {"id": 31}
        assert second.log().count(f"resuming execution {ex_id} ") == 1, second.log()[-4000:]
    finally:
        fake.stop()


@pytest.mark.system
def test_kill_9_mid_foreach_then_restart_runs_only_the_unfinished_item(deployment):
    """A foreach over 5 items, 2 at a time: item 2 hangs until gunicorn is killed; the others
    finish first. After the restart only item 2 is called again, with its first key."""
    d = deployment()
    fake = FakeServer()
    hung = threading.Event()

    def item(req):
        n = req.json()["n"]
        if n == 2 and not hung.is_set():
            hung.set()
            return reply(200, {"n": n}, delay=60)
        return reply(200, {"n": n}, delay=0.1)

    fake.always("/item", item)
    try:
        d.start()
        wf = d.post("/api/v2/ai-workflows", {
            "name": "foreach survives kill -9", "trigger": {"type": "manual"}, "steps": [
                {"id": "loop", "type": "foreach", "items": "trigger.items", "concurrency": 2,
                 "step": {"id": "call", "type": "action", "service": "http", "action": "post",
                          "connection": d.http_connection(fake),
                          "parameters": {"path": "/item", "json": {"n": "{{ item }}"}}}}]})
        assert wf.status_code == 201, wf.text
        started = d.post(f"/api/v2/ai-workflows/{wf.json()['id']}/execute", {"items": [0, 1, 2, 3, 4]})
        assert started.status_code == 202, started.text
        ex_id = started.json()["id"]

        def mid_flight():
            body, steps = d.state(ex_id)
            ok = (all(steps.get(f"loop[{i}]") == "succeeded" for i in (0, 1, 3, 4))
                  and steps.get("loop[2]") == "running")
            return (body, steps) if ok else None

        _poll(mid_flight, 30, "items 0, 1, 3, 4 done, item 2 running")
        d.kill()
        assert fake.count("/item") == 5
        d.start()
        done, steps = d.finished(ex_id)
        assert done["status"] == "succeeded", (done, d.logs()[-4000:])
        calls = [r.json()["n"] for r in fake.calls("/item")]
        assert sorted(calls) == [0, 1, 2, 2, 3, 4]  # only the interrupted item again
        keys = [r.headers["Idempotency-Key"] for r in fake.calls("/item") if r.json()["n"] == 2]
        assert keys == [f"atom-{ex_id}-loop[2]-1"] * 2
        loop_step = next(s for s in done["steps"] if s["step_id"] == "loop")
        assert [o["body"]["n"] for o in loop_step["output"]["items"]] == [0, 1, 2, 3, 4]
    finally:
        fake.stop()


@pytest.mark.system
def test_kill_9_with_timers_and_approvals_pending_then_restart_finishes_them(deployment):
    """50 executions parked on a wait step and 100 on an approval step when gunicorn is killed:
    after the restart the timers fire and the approvals are decided, and every one finishes once."""
    d = deployment(ATOM_DURABLE_WAIT_S="1", ATOM_TIMER_TICK_S="0.5")
    d.start()
    waits = d.post("/api/v2/ai-workflows", {"name": "waits", "trigger": {"type": "manual"}, "steps": [
        {"id": "nap", "type": "wait", "seconds": 6},
        {"id": "after", "type": "transform", "mapping": {"n": "trigger.n"}, "depends_on": ["nap"]}]})
    gates = d.post("/api/v2/ai-workflows", {"name": "gates", "trigger": {"type": "manual"}, "steps": [
        {"id": "ok", "type": "approval", "message": "Ship {{ trigger.n }}?", "approvers": {"roles": ["admin"]},
         "allow_self": True},
        {"id": "after", "type": "transform", "mapping": {"n": "trigger.n"}, "depends_on": ["ok"]}]})
    assert waits.status_code == 201 and gates.status_code == 201, (waits.text, gates.text)
    ids = {name: [d.post(f"/api/v2/ai-workflows/{wf.json()['id']}/execute", {"n": n}).json()["id"]
                  for n in range(count)]
           for name, wf, count in (("waits", waits, 50), ("gates", gates, 100))}

    def all_waiting():
        return all(d.state(ex_id)[0]["status"] == "waiting" for group in ids.values() for ex_id in group)

    _poll(all_waiting, 60, "150 executions waiting")
    killed_at = time.monotonic()
    d.kill()
    d.start()
    for ex_id in ids["gates"]:
        decided = d.post(f"/api/v2/executions/{ex_id}/steps/ok/approve", {"comment": "after the crash"})
        assert decided.status_code == 200, decided.text
    for group in ids.values():
        for ex_id in group:
            body, steps = d.finished(ex_id, 90)
            assert body["status"] == "succeeded", (body, d.logs()[-4000:])
            assert steps["after"] == "succeeded"
            assert [s["attempt"] for s in body["steps"] if s["step_id"] == "after"] == [1]
    # The waits ran their whole 6 s: the restart neither cut them short nor started them again.
    from datetime import datetime

    for ex_id in ids["waits"]:
        body, _ = d.state(ex_id)
        nap = next(s for s in body["steps"] if s["step_id"] == "nap")
        took = datetime.fromisoformat(nap["finished_at"]) - datetime.fromisoformat(nap["started_at"])
        assert nap["status"] == "succeeded" and nap["attempt"] == 1 and took.total_seconds() >= 6, nap
    assert time.monotonic() - killed_at < 80
