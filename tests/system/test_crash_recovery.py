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


@pytest.mark.system
def test_kill_9_of_gunicorn_mid_execution_then_restart_finishes_it(tmp_path):
    from cryptography.fernet import Fernet

    port = _free_port()
    env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "2",
           "ATOM_EXECUTION_RECOVERY_INTERVAL_S": "1", "ATOM_GUNICORN_LOGLEVEL": "warning"}
    base = f"http://127.0.0.1:{port}"
    subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run([str(BIN / "atom"), "keys", "create", "--name", "system", "--role", "admin"],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}

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
    first = Gunicorn(env, tmp_path / "gunicorn-1.log")
    second = Gunicorn(env, tmp_path / "gunicorn-2.log")
    try:
        first.start()
        _wait_ready(base, headers, first)
        conn = requests.post(f"{base}/api/v2/connections", headers=headers, timeout=10, json={
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert conn.status_code == 201, conn.text
        step = {"type": "action", "service": "http", "action": "post", "connection": conn.json()["id"]}
        wf = requests.post(f"{base}/api/v2/ai-workflows", headers=headers, timeout=10, json={
            "name": "survives kill -9", "trigger": {"type": "manual"}, "steps": [
                {**step, "id": "a", "parameters": {"path": "/a", "json": {"n": "{{ trigger.n }}"}}},
                {**step, "id": "b", "depends_on": ["a"],
                 "parameters": {"path": "/b", "json": {"id": "{{ steps.a.output.body.id }}"}}},
                {**step, "id": "slow", "depends_on": ["b"], "parameters": {"path": "/slow"}},
                {**step, "id": "d", "depends_on": ["slow"],
                 "parameters": {"path": "/d", "json": {"slow": "{{ steps.slow.output.body.slow }}"}}},
            ]})
        assert wf.status_code == 201, wf.text
        started = requests.post(f"{base}/api/v2/ai-workflows/{wf.json()['id']}/execute", headers=headers,
                                json={"n": 1}, timeout=10)
        assert started.status_code == 202, started.text
        ex_id = started.json()["id"]

        def state():
            body = requests.get(f"{base}/api/v2/executions/{ex_id}", headers=headers, timeout=10).json()
            return body, {s["step_id"]: s["status"] for s in body["steps"]}

        def mid_flight():
            body, steps = state()
            ok = (steps.get("a") == "succeeded" and steps.get("b") == "succeeded"
                  and steps.get("slow") == "running" and fake.count("/slow") == 1)
            return (body, steps) if ok else None

        before, _ = _poll(mid_flight, 30, "a and b done, slow running")
        assert before["status"] == "running"

        first.kill()
        assert fake.count("/a") == 1 and fake.count("/b") == 1 and fake.count("/d") == 0

        second.start()
        _wait_ready(base, headers, second)

        def finished():
            body, steps = state()
            return (body, steps) if body["status"] in ("succeeded", "failed", "cancelled") else None

        done, steps = _poll(finished, 60, "the resumed execution to finish")
        # Let both workers sweep a few more times: nobody may resume it again.
        time.sleep(3)
        done, steps = state()
        logs = first.log() + second.log()
        assert done["status"] == "succeeded", (done, logs[-4000:])
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
        first.stop()
        second.stop()
        fake.stop()


@pytest.mark.system
def test_kill_9_mid_foreach_then_restart_runs_only_the_unfinished_item(tmp_path):
    """A foreach over 5 items, 2 at a time: item 2 hangs until gunicorn is killed; the others
    finish first. After the restart only item 2 is called again, with its first key."""
    from cryptography.fernet import Fernet

    port = _free_port()
    env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "2",
           "ATOM_EXECUTION_RECOVERY_INTERVAL_S": "1", "ATOM_GUNICORN_LOGLEVEL": "warning"}
    base = f"http://127.0.0.1:{port}"
    subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run([str(BIN / "atom"), "keys", "create", "--name", "system", "--role", "admin"],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    fake = FakeServer()
    hung = threading.Event()

    def item(req):
        n = req.json()["n"]
        if n == 2 and not hung.is_set():
            hung.set()
            return reply(200, {"n": n}, delay=60)
        return reply(200, {"n": n}, delay=0.1)

    fake.always("/item", item)
    first = Gunicorn(env, tmp_path / "gunicorn-1.log")
    second = Gunicorn(env, tmp_path / "gunicorn-2.log")
    try:
        first.start()
        _wait_ready(base, headers, first)
        conn = requests.post(f"{base}/api/v2/connections", headers=headers, timeout=10, json={
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert conn.status_code == 201, conn.text
        wf = requests.post(f"{base}/api/v2/ai-workflows", headers=headers, timeout=10, json={
            "name": "foreach survives kill -9", "trigger": {"type": "manual"}, "steps": [
                {"id": "loop", "type": "foreach", "items": "trigger.items", "concurrency": 2,
                 "step": {"id": "call", "type": "action", "service": "http", "action": "post",
                          "connection": conn.json()["id"],
                          "parameters": {"path": "/item", "json": {"n": "{{ item }}"}}}}]})
        assert wf.status_code == 201, wf.text
        started = requests.post(f"{base}/api/v2/ai-workflows/{wf.json()['id']}/execute", headers=headers,
                                json={"items": [0, 1, 2, 3, 4]}, timeout=10)
        assert started.status_code == 202, started.text
        ex_id = started.json()["id"]

        def state():
            body = requests.get(f"{base}/api/v2/executions/{ex_id}", headers=headers, timeout=10).json()
            return body, {s["step_id"]: s["status"] for s in body["steps"]}

        def mid_flight():
            body, steps = state()
            ok = (all(steps.get(f"loop[{i}]") == "succeeded" for i in (0, 1, 3, 4))
                  and steps.get("loop[2]") == "running")
            return (body, steps) if ok else None

        _poll(mid_flight, 30, "items 0, 1, 3, 4 done, item 2 running")
        first.kill()
        assert fake.count("/item") == 5
        second.start()
        _wait_ready(base, headers, second)

        def finished():
            body, steps = state()
            return (body, steps) if body["status"] in ("succeeded", "failed", "cancelled") else None

        done, steps = _poll(finished, 60, "the resumed execution to finish")
        assert done["status"] == "succeeded", (done, (first.log() + second.log())[-4000:])
        calls = [r.json()["n"] for r in fake.calls("/item")]
        assert sorted(calls) == [0, 1, 2, 2, 3, 4]  # only the interrupted item again
        keys = [r.headers["Idempotency-Key"] for r in fake.calls("/item") if r.json()["n"] == 2]
        assert keys == [f"atom-{ex_id}-loop[2]-1"] * 2
        loop_step = next(s for s in done["steps"] if s["step_id"] == "loop")
        assert [o["body"]["n"] for o in loop_step["output"]["items"]] == [0, 1, 2, 3, 4]
    finally:
        first.stop()
        second.stop()
        fake.stop()
