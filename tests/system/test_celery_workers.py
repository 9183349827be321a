"""The Celery executor with real processes: gunicorn (web processes that only enqueue) and
``atom worker`` processes on PostgreSQL (a database of the test's own) and a broker (Redis db 4,
or RabbitMQ), each test on a queue of its own.

* executions finish, each run by a worker (its pid is in ``claimed_by``), every step once;
* ``kill -9`` of the worker in the middle of a step: the other worker finishes the execution,
  no finished step is called again, and the interrupted step is resumed, once, with the same
  idempotency key;
* durable timers and approvals: executions parked on a wait and then on an approval hold no
  worker; the deployment's one scheduler wakes the timers, the API's decisions wake the
  approvals, and the workers finish them.

The fake service runs on a thread of this test process (127.0.0.1) and counts every request.
Skipped, saying why, when PostgreSQL, Redis or RabbitMQ is absent.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.system.test_crash_recovery import Gunicorn
from tests.system.test_crash_recovery import _free_port
from tests.system.test_crash_recovery import _poll
from tests.system.test_crash_recovery import _wait_ready

ROOT = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
BROKERS = {"redis": "redis://127.0.0.1:6379/4", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}
FINAL = ("succeeded", "failed", "cancelled")
# `atom ...` run from the checkout under test (the console script may import another one).
ATOM = [sys.executable, "-c", "from atom.cli import main; main()"]


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


class Worker:
    """``atom worker`` in its own session, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 4) -> None:
        self.env, self.log_path, self.concurrency = env, log, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [*ATOM, "worker", f"--concurrency={self.concurrency}", "--loglevel=info"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        _poll(lambda: " ready." in self.log() or self.proc.poll() is not None, timeout, "a worker")
        if self.proc.poll() is not None:
            pytest.fail("atom worker exited:\n" + self.log()[-4000:])

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Deployment:
    """A scaled-out ATOM: its database, its queue, one gunicorn and ``workers`` workers."""

    def __init__(self, tmp: Path, broker: str, workers: int, **settings: str) -> None:
        from cryptography.fernet import Fernet

        self.tmp, self.broker = tmp, broker
        self.dbname = f"m13_celery_{uuid.uuid4().hex[:10]}"
        self.queue = f"atom-test-{uuid.uuid4().hex[:8]}"
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp), "ATOM_BIND": f"127.0.0.1:{port}",
                    "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "2",
                    "ATOM_EXECUTION_RECOVERY_INTERVAL_S": "1", "ATOM_GUNICORN_LOGLEVEL": "warning",
                    "ATOM_SQLALCHEMY_DATABASE_URI":
                        f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.dbname}",
                    "ATOM_EXECUTOR": "celery", "ATOM_BROKER_URL": broker, "ATOM_CELERY_QUEUE": self.queue,
                    **settings}
        self.web = Gunicorn(self.env, tmp / "gunicorn.log")
        self.workers = [Worker(self.env, tmp / f"worker-{n}.log") for n in range(workers)]
        self.headers: dict[str, str] = {}

    def up(self) -> None:
        self._admin(f'CREATE DATABASE "{self.dbname}"')
        subprocess.run([*ATOM, "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                       capture_output=True)
        created = subprocess.run([*ATOM, "keys", "create", "--name", "system", "--role", "admin"],
                                 env=self.env, cwd=ROOT, check=True, capture_output=True, text=True)
        self.headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        self.web.start()
        for worker in self.workers:
            worker.start()
        _wait_ready(self.base, self.headers, self.web)
        for worker in self.workers:
            worker.wait_ready()

    def down(self) -> None:
        for process in (self.web, *self.workers):
            process.stop()
        from kombu import Connection

        with Connection(self.broker, connect_timeout=5) as conn:
            conn.default_channel.queue_delete(self.queue)
        self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (self.dbname,))
        self._admin(f'DROP DATABASE IF EXISTS "{self.dbname}"')

    def _admin(self, sql: str, args: tuple = ()) -> None:
        import psycopg2

        conn = psycopg2.connect(connect_timeout=3, **PG)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, args)
        conn.close()

    def owners(self) -> dict[int, str]:
        """``claimed_by`` of every execution, read from the database."""
        import psycopg2

        conn = psycopg2.connect(connect_timeout=3, **{**PG, "dbname": self.dbname})
        with conn.cursor() as cur:
            cur.execute("SELECT id, claimed_by FROM executions")
            rows = dict(cur.fetchall())
        conn.close()
        return rows

    def api(self, method: str, path: str, **kwargs):
        return requests.request(method, f"{self.base}/api/v2{path}", headers=self.headers,
                                timeout=10, **kwargs)

    def workflow(self, fake: FakeServer, steps: list[dict]) -> int:
        conn = self.api("POST", "/connections", json={
            "integration": "http", "label": "fake", "credentials": {},
            "settings": {"base_url": fake.url, "max_attempts": 1,
                         "rate_limit_per_second": 10_000, "rate_limit_burst": 10_000}})
        assert conn.status_code == 201, conn.text
        base = {"type": "action", "service": "http", "action": "post", "connection": conn.json()["id"]}
        wf = self.api("POST", "/ai-workflows", json={
            "name": f"celery {uuid.uuid4().hex[:6]}", "trigger": {"type": "manual"},
            "steps": [{**base, **s} for s in steps]})
        assert wf.status_code == 201, wf.text
        return wf.json()["id"]

    def execute(self, wf_id: int, payload: dict | None = None) -> int:
        started = self.api("POST", f"/ai-workflows/{wf_id}/execute", json=payload or {})
        assert started.status_code == 202, started.text
        return started.json()["id"]

    def execution(self, ex_id: int) -> dict:
        return self.api("GET", f"/executions/{ex_id}").json()

    def logs(self) -> str:
        return "\n".join(p.log() for p in (self.web, *self.workers))


def _needs(broker: str) -> None:
    pytest.importorskip("celery", reason="celery is not installed (pip install 'atom-hub[celery]')")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed")
    if not _reachable(5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    if broker == "redis" and not _reachable(6379):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    if broker == "rabbitmq" and not _reachable(5672):
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")


@pytest.fixture
def deployment(request, tmp_path):
    broker, workers, *settings = request.param
    _needs(broker)
    deployed = Deployment(tmp_path, BROKERS[broker], workers, **(settings[0] if settings else {}))
    try:
        deployed.up()
        yield deployed
    finally:
        deployed.down()


@pytest.mark.system
@pytest.mark.parametrize("deployment", [("redis", 2), ("rabbitmq", 2)], indirect=True,
                         ids=["redis", "rabbitmq"])
def test_executions_run_on_the_workers_and_finish(deployment):
    with FakeServer() as fake:
        fake.always("/a", lambda req: reply(201, {"n": req.json()["n"]}))
        fake.always("/b", lambda req: reply(200, {"got": req.json()}))
        wf_id = deployment.workflow(fake, [
            {"id": "a", "parameters": {"path": "/a", "json": {"n": "{{ trigger.n }}"}}},
            {"id": "b", "depends_on": ["a"],
             "parameters": {"path": "/b", "json": {"n": "{{ steps.a.output.body.n }}"}}}])
        ids = [deployment.execute(wf_id, {"n": n}) for n in range(20)]

        def finished():
            bodies = [deployment.execution(i) for i in ids]
            return bodies if all(b["status"] in FINAL for b in bodies) else None

        bodies = _poll(finished, 90, "20 executions to finish")
        assert [b["status"] for b in bodies] == ["succeeded"] * 20, deployment.logs()[-4000:]
        assert fake.count("/a") == 20 and fake.count("/b") == 20
        assert sorted(r.json()["n"] for r in fake.calls("/b")) == list(range(20))
    # Each ran in a worker (web processes only enqueue): its owner names a worker's pid.
    worker_pids = {w.proc.pid for w in deployment.workers}
    owners = deployment.owners()
    assert {int(owners[i].split(":")[1]) for i in ids} <= worker_pids, owners


@pytest.mark.system
@pytest.mark.parametrize("deployment", [("redis", 2)], indirect=True, ids=["redis"])
def test_kill_9_of_a_worker_mid_step_another_worker_finishes(deployment):
    lock = threading.Lock()
    slow_calls: list[float] = []

    def slow(req):
        with lock:
            slow_calls.append(time.monotonic())
            first = len(slow_calls) == 1
        # The first call hangs until its worker is killed under it; the resumed one is quick.
        return reply(200, {"slow": "done"}, delay=60 if first else 0.2)

    with FakeServer() as fake:
        fake.always("/a", reply(201, {"id": 31}))
        fake.always("/b", lambda req: reply(200, {"got": req.json()}))
        fake.always("/slow", slow)
        fake.always("/d", reply(200, {"ok": True}))
        wf_id = deployment.workflow(fake, [
            {"id": "a", "parameters": {"path": "/a"}},
            {"id": "b", "depends_on": ["a"],
             "parameters": {"path": "/b", "json": {"id": "{{ steps.a.output.body.id }}"}}},
            {"id": "slow", "depends_on": ["b"], "parameters": {"path": "/slow"}},
            {"id": "d", "depends_on": ["slow"],
             "parameters": {"path": "/d", "json": {"slow": "{{ steps.slow.output.body.slow }}"}}}])
        ex_id = deployment.execute(wf_id)

        def mid_flight():
            steps = {s["step_id"]: s["status"] for s in deployment.execution(ex_id)["steps"]}
            return steps.get("slow") == "running" and fake.count("/slow") == 1

        _poll(mid_flight, 30, "a and b done, slow running")
        owner_pid = int(deployment.owners()[ex_id].split(":")[1])
        victim = next(w for w in deployment.workers if w.proc.pid == owner_pid)
        survivor = next(w for w in deployment.workers if w is not victim)
        victim.kill()
        assert (fake.count("/a"), fake.count("/b"), fake.count("/d")) == (1, 1, 0)

        done = _poll(lambda: (lambda b: b if b["status"] in FINAL else None)(deployment.execution(ex_id)),
                     60, "another worker to finish the execution")
        time.sleep(3)  # a few more recovery sweeps: nobody may resume it again
        done = deployment.execution(ex_id)
        logs = deployment.logs()
        assert done["status"] == "succeeded", (done, logs[-4000:])
        steps = {s["step_id"]: s for s in done["steps"]}
        assert {s: v["status"] for s, v in steps.items()} == dict.fromkeys(("a", "b", "slow", "d"),
                                                                           "succeeded")
        # No finished step ran twice; the interrupted one ran once more, with the same key.
        assert (fake.count("/a"), fake.count("/b"), fake.count("/slow"), fake.count("/d")) == (1, 1, 2, 1)
        assert [r.headers["Idempotency-Key"] for r in fake.calls("/slow")] == [f"atom-{ex_id}-slow-1"] * 2
        assert fake.calls("/d")[0].json() == {"slow": "done"}
        assert steps["slow"]["attempt"] == 2 and steps["a"]["attempt"] == 1
        assert int(deployment.owners()[ex_id].split(":")[1]) == survivor.proc.pid
        assert logs.count(f"resuming execution {ex_id} ") == 1, logs[-4000:]


@pytest.mark.system
@pytest.mark.parametrize("deployment", [("redis", 2, {"ATOM_DURABLE_WAIT_S": "1", "ATOM_TIMER_TICK_S": "0.5"})],
                         indirect=True, ids=["redis"])
def test_timers_and_approvals_park_off_the_workers_and_resume_on_them(deployment):
    wf = deployment.api("POST", "/ai-workflows", json={
        "name": "wait then approve", "trigger": {"type": "manual"}, "steps": [
            {"id": "nap", "type": "wait", "seconds": 3},
            {"id": "ok", "type": "approval", "message": "Go {{ trigger.n }}?", "depends_on": ["nap"],
             "approvers": {"roles": ["admin"]}, "allow_self": True},
            {"id": "after", "type": "transform", "mapping": {"n": "trigger.n"}, "depends_on": ["ok"]}]})
    assert wf.status_code == 201, wf.text
    ids = [deployment.execute(wf.json()["id"], {"n": n}) for n in range(30)]

    def at(step: str, status: str):
        bodies = [deployment.execution(i) for i in ids]
        ok = all(b["status"] == "waiting" and {s["step_id"]: s["status"] for s in b["steps"]}.get(step) == status
                 for b in bodies)
        return bodies if ok else None

    # Parked on the timer, then (woken by the scheduler, run by a worker) on the approval.
    _poll(lambda: at("nap", "running"), 60, "30 executions waiting on their timer")
    _poll(lambda: at("ok", "running"), 60, "30 executions waiting for approval")
    for ex_id in ids:
        decided = deployment.api("POST", f"/executions/{ex_id}/steps/ok/approve", json={})
        assert decided.status_code == 200, decided.text

    def finished():
        bodies = [deployment.execution(i) for i in ids]
        return bodies if all(b["status"] in FINAL for b in bodies) else None

    bodies = _poll(finished, 90, "30 approved executions to finish")
    assert [b["status"] for b in bodies] == ["succeeded"] * 30, deployment.logs()[-4000:]
    outputs = []
    for body in bodies:
        steps = {s["step_id"]: s for s in body["steps"]}
        assert [steps[s]["attempt"] for s in ("nap", "ok", "after")] == [1, 1, 1]
        assert steps["ok"]["output"]["decision"] == "approved"
        outputs.append(steps["after"]["output"]["n"])
    assert outputs == list(range(30))
    worker_pids = {w.proc.pid for w in deployment.workers}
    owners = deployment.owners()
    assert {int(owners[i].split(":")[1]) for i in ids} <= worker_pids, owners
