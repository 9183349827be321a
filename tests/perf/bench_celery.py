"""Benchmark: the Celery executor with real processes (gunicorn web processes that only enqueue,
``atom worker`` processes, PostgreSQL, a broker), against the embedded thread executor.

Run ``python tests/perf/bench_celery.py`` (``--broker rabbitmq``, ``--only steps,io``,
``--embedded`` to measure the thread executor under the same gunicorn too). Each deployment
gets a database and a queue of its own (tests/system/test_celery_workers.py's ``Deployment``);
the loopback service is a :class:`tests.fakes.FakeServer` in this process. Workloads:

* steps: 40 sequential ``http`` steps, one execution at a time, execute -> finished (Windmill's
  shape). Per step: (``finished_at`` - ``created_at``) / 40 of the execution, the median of
  ``--runs`` runs after a warm-up; the client's wall (``?wait``) is printed too. Target <= 5 ms.
* webhook: a webhook and one transform (n8n's shape), ``--webhooks`` deliveries from 8 client
  threads; finished executions a second (first ``created_at`` to last ``finished_at``), none
  lost or stuck, and the CPU per execution of the web and of the worker processes.
* burst: 100 executions submitted at once from 100 threads: submit wall (< 1 s) and finished a
  second (> 10).
* io: 64 executions of two 200 ms steps, queued while the workers pause, drained by one
  worker, then by two (``--concurrency`` each); throughput ratio (>= 1.8).

Prints ``RESULT executor=celery workload=steps per_step_ms=...`` lines; a missed target is
reported on stderr (``MISSED ...``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeServer  # noqa: E402
from tests.fakes import reply  # noqa: E402
from tests.system.test_celery_workers import BROKERS  # noqa: E402
from tests.system.test_celery_workers import Deployment  # noqa: E402

FINAL = ("succeeded", "failed", "cancelled")
missed: list[str] = []


def result(executor: str, workload: str, **figures: float) -> None:
    print(f"RESULT executor={executor} workload={workload} "
          + " ".join(f"{k}={v:.4g}" for k, v in figures.items()), flush=True)


def check(ok: bool, what: str) -> None:
    if not ok:
        missed.append(what)
        print(f"MISSED {what}", file=sys.stderr, flush=True)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _rows(deployment: Deployment, sql: str, args: tuple = ()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=deployment.dbname)
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.close()
    return rows


def _wait_all(deployment: Deployment, wf_id: int, n: int, timeout: float) -> tuple[float, int, int]:
    """Wait until ``n`` executions of the workflow have finished; return their rate a second
    (first created to last finished), and how many succeeded and are not final."""
    deadline = time.monotonic() + timeout
    while True:
        (done, pending, ok, first, last), = _rows(deployment, (
            "SELECT count(*) FILTER (WHERE status IN ('succeeded','failed','cancelled')), "
            "count(*) FILTER (WHERE status NOT IN ('succeeded','failed','cancelled')), "
            "count(*) FILTER (WHERE status = 'succeeded'), min(created_at), max(finished_at) "
            "FROM executions WHERE workflow_id = %s"), (wf_id,))
        if done >= n or time.monotonic() > deadline:
            span = (last - first).total_seconds() if done else float("inf")
            return done / span if span else float("inf"), ok, pending
        time.sleep(0.05)


def bench_steps(deployment: Deployment, fake: FakeServer, executor: str, runs: int) -> None:
    wf_id = deployment.workflow(fake, [
        {"id": f"s{i}", "depends_on": [f"s{i - 1}"] if i else [], "parameters": {"path": "/ok"}}
        for i in range(40)])
    per_step, walls, pickups = [], [], []
    for run in range(runs + 1):
        began = time.perf_counter()
        answer = deployment.api("POST", f"/ai-workflows/{wf_id}/execute?wait=60", json={})
        wall = time.perf_counter() - began
        body = answer.json()
        assert body["status"] == "succeeded", body
        if run:  # the first is the warm-up
            per_step.append((_ts(body["finished_at"]) - _ts(body["created_at"])) * 1000 / 40)
            walls.append(wall * 1000 / 40)
            pickups.append((_ts(body["started_at"]) - _ts(body["created_at"])) * 1000)
    median = statistics.median(per_step)
    # pickup: created -> started (the broker's hop under Celery), part of the per-step figure.
    result(executor, "steps", per_step_ms=median, best_ms=min(per_step),
           client_wall_per_step_ms=statistics.median(walls), pickup_ms=statistics.median(pickups),
           runs=runs)
    if executor == "celery":
        check(median <= 5.0, f"steps: {median:.2f} ms per http step > 5 ms")


def _cpu_s(deployment: Deployment) -> tuple[float, float]:
    """CPU seconds used so far by the web processes (gunicorn's master and workers) and by
    the ``atom worker`` processes (a load-independent measure, unlike walls on a busy host)."""
    import psutil

    def used(pid: int, children: bool) -> float:
        procs = [psutil.Process(pid)]
        if children:
            procs += procs[0].children(recursive=True)
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    web = used(deployment.web.proc.pid, True)
    workers = sum(used(w.proc.pid, False) for w in deployment.workers if w.proc.poll() is None)
    return web, workers


def bench_webhook(deployment: Deployment, executor: str, n: int) -> None:
    import requests

    created = deployment.api("POST", "/ai-workflows", json={
        "name": "webhook bench", "trigger": {"type": "webhook"},
        "steps": [{"id": "t", "type": "transform", "mapping": {"got": "trigger.n"}}]})
    assert created.status_code == 201, created.text
    wf_id, url = created.json()["id"], created.json()["webhook_url"]
    sent = iter(range(n))
    lock = threading.Lock()
    refused: list[int] = []

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    i = next(sent, None)
                if i is None:
                    return
                answer = session.post(url, json={"n": i}, timeout=30)
                if answer.status_code != 202:
                    refused.append(answer.status_code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    cpu_before = _cpu_s(deployment)
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submit_s = time.perf_counter() - began
    rate, ok, pending = _wait_all(deployment, wf_id, n - len(refused), 120)
    web, workers = (after - before for after, before in zip(_cpu_s(deployment), cpu_before))
    result(executor, "webhook", finished_per_s=rate, submitted_per_s=n / submit_s,
           succeeded=ok, refused=len(refused), not_finished=pending,
           web_cpu_ms_per_execution=web * 1000 / n, worker_cpu_ms_per_execution=workers * 1000 / n)
    check(ok == n and pending == 0, f"webhook: {n - ok} of {n} executions lost or stuck")


def bench_burst(deployment: Deployment, fake: FakeServer, executor: str) -> None:
    wf_id = deployment.workflow(fake, [{"id": "a", "parameters": {"path": "/ok"}}])
    barrier = threading.Barrier(100)
    codes: list[int] = []

    def submit() -> None:
        barrier.wait(30)
        codes.append(deployment.api("POST", f"/ai-workflows/{wf_id}/execute", json={}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(100)]
    for t in threads:
        t.start()
    cpu_before = _cpu_s(deployment)
    client_before = time.process_time()
    began = time.perf_counter()
    for t in threads:
        t.join()
    submit_s = time.perf_counter() - began
    # The two cores are shared: what the 100 client threads and the web processes spent.
    client_s = time.process_time() - client_before
    web_s = _cpu_s(deployment)[0] - cpu_before[0]
    rate, ok, pending = _wait_all(deployment, wf_id, 100, 120)
    result(executor, "burst", submit_s=submit_s, finished_per_s=rate, succeeded=ok,
           client_cpu_s=client_s, web_cpu_s=web_s)
    check(submit_s < 1.0, f"burst: 100 submitted in {submit_s:.2f} s (>= 1 s)")
    check(rate > 10 and ok == 100, f"burst: {rate:.1f} finished a second, {ok} of 100 succeeded")


def bench_io(deployment: Deployment, fake: FakeServer, n: int = 64) -> None:
    """With one worker running, then two, the workers stop consuming (Celery's remote
    control), ``n`` executions are queued, and the workers resume together and drain the
    queue: the rate is from the first step started to the last execution finished, so neither
    submitting nor a worker's start-up is counted."""
    from celery import Celery

    control = Celery("bench", broker=deployment.broker, set_as_current=False).control
    wf_id = deployment.workflow(fake, [
        {"id": "a", "parameters": {"path": "/io"}},
        {"id": "b", "depends_on": ["a"], "parameters": {"path": "/io"}}])
    rates = {}
    spare = deployment.workers[1]
    for count in (1, 2):
        if count == 1:
            spare.stop()
        else:
            spare.start()
            spare.wait_ready()
        paused = control.cancel_consumer(deployment.queue, reply=True, timeout=5)
        assert len(paused) == count, paused
        before = _rows(deployment, "SELECT coalesce(max(id), 0) FROM executions")[0][0]
        for _ in range(n):
            deployment.execute(wf_id)
        resumed = control.add_consumer(deployment.queue, reply=True, timeout=5)
        assert len(resumed) == count, resumed
        deadline = time.monotonic() + 120
        while True:
            (done, first, last), = _rows(deployment, (
                "SELECT count(*) FILTER (WHERE e.status = 'succeeded'), min(s.started_at), "
                "max(e.finished_at) FROM executions e LEFT JOIN step_runs s ON s.execution_id = e.id "
                "AND s.step_id = 'a' WHERE e.id > %s"), (before,))
            if done >= n:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"io: executions did not finish with {count} worker(s)")
            time.sleep(0.05)
        rates[count] = n / (last - first).total_seconds()
        result("celery", f"io_{count}_worker", executions_per_s=rates[count],
               ideal_per_s=count * deployment.workers[0].concurrency / 0.4)
    ratio = rates[2] / rates[1]
    result("celery", "io_scale", ratio=ratio)
    check(ratio >= 1.8, f"io: two workers give {ratio:.2f} times one worker's throughput (< 1.8)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", choices=sorted(BROKERS), default="redis")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--webhooks", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4, help="each worker's executions at once")
    parser.add_argument("--only", default="steps,webhook,burst,io")
    parser.add_argument("--embedded", action="store_true",
                        help="also measure the thread executor under the same gunicorn")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    fake = FakeServer()
    fake.always("/ok", reply(200, {"ok": True}))
    fake.always("/io", reply(200, {"ok": True}, delay=0.2))
    try:
        for executor in (["thread"] if args.embedded else []) + ["celery"]:
            with tempfile.TemporaryDirectory() as tmp:
                deployment = Deployment(Path(tmp), BROKERS[args.broker], 2 if executor == "celery" else 0)
                deployment.env["ATOM_EXECUTOR"] = executor
                deployment.env["ATOM_GUNICORN_LOGLEVEL"] = "error"
                deployment.env["ATOM_EXECUTION_RECOVERY_INTERVAL_S"] = "15"
                for worker in deployment.workers:
                    worker.concurrency = args.concurrency
                deployment.up()
                try:
                    if "steps" in only:
                        bench_steps(deployment, fake, executor, args.runs)
                    if "webhook" in only:
                        bench_webhook(deployment, executor, args.webhooks)
                    if "burst" in only:
                        bench_burst(deployment, fake, executor)
                    if "io" in only and executor == "celery":
                        bench_io(deployment, fake)
                finally:
                    deployment.down()
    finally:
        fake.stop()
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
