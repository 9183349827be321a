"""Evaluation: success and completion-time prediction on simulated histories.

Run ``python tests/eval/eval_prediction.py [--runs N] [--seed S]``. An embedded app on a
temporary SQLite database (``create_app`` + ``flask_migrate.upgrade()``) runs real executions
through the engine against a local :class:`tests.fakes.FakeServer` whose paths fail with known
probabilities (HTTP 500, a transient ``upstream`` error) after known latency distributions
(log-normal). Six workflows of different shapes, each on its own http connection:

* ``chain``: three calls in a chain;
* ``parallel``: three parallel calls joined by a fourth;
* ``retry``: one very flaky call with 3 attempts and exponential backoff;
* ``wait``: a call, a 0.3 s wait, another call;
* ``flaky``: one flaky call without a retry;
* ``continue``: two parallel calls, the flakier one with ``on_error: continue``.

Executions are started round-robin (one of each workflow per round, run concurrently), so the
time split interleaves them. :func:`atom.intelligence.prediction.train` then holds back the
newest 20% by time, fits its parameters on the older part only (the prior strengths on that
part's own older/newer split), and predicts each held-back execution from the older part.
Reported per workflow and overall: the Brier score; the base-rate predictor's (a constant at the
training part's overall success rate across all workflows); the per-workflow own-rate
predictor's (a constant at the workflow's own training success rate); the oracle's (the true
simulated probability: the noise floor); calibration error (ECE, 10 bins, overall); and the
relative error of the predicted p50 completion time against the median of the held-back
executions' durations, with the median of that over workflows. No constant of the model was
set from these figures.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeServer  # noqa: E402
from tests.fakes import Reply  # noqa: E402

# path -> (failure probability, median latency ms, log-normal sigma)
PATHS = {
    "/chain/a": (0.05, 30, 0.3), "/chain/b": (0.05, 50, 0.3), "/chain/c": (0.05, 40, 0.3),
    "/par/a": (0.03, 30, 0.3), "/par/b": (0.10, 80, 0.3), "/par/c": (0.03, 50, 0.3),
    "/par/d": (0.02, 20, 0.3),
    "/retry/a": (0.35, 40, 0.3),
    "/wait/a": (0.05, 30, 0.3), "/wait/b": (0.15, 40, 0.3),
    "/flaky/a": (0.40, 60, 0.4),
    "/cont/a": (0.50, 40, 0.3), "/cont/b": (0.10, 70, 0.3),
}
RETRY = {"max_attempts": 3, "delay_s": 0.05, "backoff": 2.0}


def call(sid: str, path: str, conn: int, deps: list[str] = (), **extra: Any) -> dict[str, Any]:
    return {"id": sid, "type": "action", "service": "http", "action": "post", "connection": conn,
            "depends_on": list(deps), "parameters": {"path": path, "json": {"n": 1}}, **extra}


def workflows(conns: dict[str, int]) -> dict[str, tuple[list[dict[str, Any]], float]]:
    """name -> (steps, true success probability)."""
    p = {k: 1 - v[0] for k, v in PATHS.items()}
    r = PATHS["/retry/a"][0]
    return {
        "chain": ([call("a", "/chain/a", conns["chain"]),
                   call("b", "/chain/b", conns["chain"], ["a"]),
                   call("c", "/chain/c", conns["chain"], ["b"])],
                  p["/chain/a"] * p["/chain/b"] * p["/chain/c"]),
        "parallel": ([call("a", "/par/a", conns["parallel"]),
                      call("b", "/par/b", conns["parallel"]),
                      call("c", "/par/c", conns["parallel"]),
                      call("d", "/par/d", conns["parallel"], ["a", "b", "c"])],
                     p["/par/a"] * p["/par/b"] * p["/par/c"] * p["/par/d"]),
        "retry": ([call("a", "/retry/a", conns["retry"], retry=RETRY)], 1 - r ** 3),
        "wait": ([call("a", "/wait/a", conns["wait"]),
                  {"id": "pause", "type": "wait", "seconds": 0.3, "depends_on": ["a"]},
                  call("b", "/wait/b", conns["wait"], ["pause"])],
                 p["/wait/a"] * p["/wait/b"]),
        "flaky": ([call("a", "/flaky/a", conns["flaky"])], p["/flaky/a"]),
        "continue": ([call("a", "/cont/a", conns["continue"], on_error="continue"),
                      call("b", "/cont/b", conns["continue"])], p["/cont/b"]),
    }


class Responder:
    """A path's answers: fails with probability p after a log-normal latency (seeded)."""

    def __init__(self, p_fail: float, median_ms: float, sigma: float, seed: int) -> None:
        self.p, self.mu, self.sigma = p_fail, math.log(median_ms / 1000.0), sigma
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def __call__(self, request: Any) -> Reply:
        with self.lock:
            fail = self.rng.random() < self.p
            delay = self.rng.lognormvariate(self.mu, self.sigma)
        return Reply(500 if fail else 200, {"error": "simulated"} if fail else {"ok": True},
                     delay=delay)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=150, help="executions per workflow")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app
    from atom.engine import get_engine
    from atom.extensions import db
    from atom.intelligence import prediction
    from atom.models import ApiKey
    from atom.models import Execution
    from atom.models import Workflow

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as fake:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'eval.db'}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(), "SECRET_KEY": "eval-" * 8,
            "LOG_LEVEL": "ERROR", "OUTBOUND_ALLOW_PRIVATE": True,
            # the simulated failures must not open circuits (that is another experiment)
            "CIRCUIT_FAILURE_THRESHOLD": 10_000, "SCHEDULER_ENABLED": False,
        })
        with app.app_context():
            upgrade()
            row, plain = ApiKey.generate("eval", "admin")
            db.session.add(row)
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {plain}"}
        for i, (path, (pf, med, sigma)) in enumerate(sorted(PATHS.items())):
            fake.always(path, Responder(pf, med, sigma, args.seed * 1000 + i))
        names = ["chain", "parallel", "retry", "wait", "flaky", "continue"]
        conns = {}
        for name in names:
            made = client.post("/api/v2/connections", headers=headers, json={
                "integration": "http", "label": f"eval {name}", "credentials": {},
                "settings": {"base_url": fake.url, "max_attempts": 1}})
            assert made.status_code == 201, made.get_json()
            conns[name] = made.get_json()["id"]
        shapes = workflows(conns)
        ids, truth = {}, {}
        for name in names:
            steps, p_true = shapes[name]
            made = client.post("/api/v2/ai-workflows", headers=headers, json={
                "name": f"eval {name}", "trigger": {"type": "manual"}, "steps": steps})
            assert made.status_code == 201, made.get_json()
            ids[name], truth[made.get_json()["id"]] = made.get_json()["id"], p_true
        engine = get_engine(app)
        for _ in range(args.runs):
            with app.app_context():
                batch = [engine.start(db.session.get(Workflow, ids[n]), {}, "manual")[0].id
                         for n in names]
            for ex_id in batch:
                if not engine.wait(ex_id, 60):
                    print(f"execution {ex_id} did not finish", file=sys.stderr)
                    return 1
        simulated = time.perf_counter() - started
        with app.app_context():
            counts = dict(db.session.execute(
                db.select(Execution.status, db.func.count()).group_by(Execution.status)).all())
            t0 = time.perf_counter()
            state = prediction.train(app)
            trained = time.perf_counter() - t0
            m = state.metrics
            t0 = time.perf_counter()
            for name in names:
                prediction.predict(ids[name])
            predict_ms = (time.perf_counter() - t0) * 1000 / len(names)
            t0 = time.perf_counter()
            for name in names:
                prediction.predict(ids[name])
            cached_ms = (time.perf_counter() - t0) * 1000 / len(names)
        engine.close()

    by_id = {w["workflow_id"]: w for w in m.get("per_workflow", [])}
    print(f"executions: {sum(counts.values())} ({counts}); simulated in {simulated:.1f} s; "
          f"trained on {state.samples}, held back {state.held_back} (newest 20% by time) in "
          f"{trained:.2f} s; fitted kappa_step={state.params['kappa_step']:g} "
          f"kappa_wf={state.params['kappa_wf']:g} gap_ms={state.params['gap_ms']:.1f}")
    header = (f"{'workflow':<9} {'true':>5} {'train':>5} {'held':>4} {'obs':>5} {'pred':>5} "
              f"{'brier':>7} {'base':>7} {'own':>7} {'oracle':>7} {'p50':>7} {'median':>7} "
              f"{'err':>6} {'train-median':>12}")
    print(header)
    misses = []
    oracle_pairs = []
    for name in names:
        w = by_id.get(ids[name])
        if w is None:
            print(f"{name:<9} (no held-back executions)")
            continue
        p_true = truth[ids[name]]
        obs = w["observed_success_rate"]
        n = w["held_back"]
        k = round(obs * n)
        oracle = (k * (1 - p_true) ** 2 + (n - k) * p_true ** 2) / n
        oracle_pairs.append((oracle, n))
        print(f"{name:<9} {p_true:5.3f} {w['trained_on']:5d} {n:4d} {obs:5.3f} "
              f"{w['predicted_success_rate']:5.3f} {w['brier']:7.4f} {w['base_rate_brier']:7.4f} "
              f"{w['own_rate_brier']:7.4f} {oracle:7.4f} {w.get('predicted_p50_ms', 0):7.1f} "
              f"{w.get('observed_median_ms', 0):7.1f} {w.get('p50_relative_error', 0):6.1%} "
              f"{w.get('trained_median_ms') or 0:12.1f}")
        if w["brier"] >= w["base_rate_brier"]:
            misses.append(f"{name}: Brier {w['brier']:.4f} not below the base rate's "
                          f"{w['base_rate_brier']:.4f}")
    oracle_all = sum(o * n for o, n in oracle_pairs) / max(1, sum(n for _, n in oracle_pairs))
    print(f"overall: brier={m['brier']:.4f} base_rate_brier={m['base_rate_brier']:.4f} "
          f"own_rate_brier={m['own_rate_brier']:.4f} oracle_brier={oracle_all:.4f} "
          f"calibration_error={m['calibration_error']:.4f} (base rate {m['base_rate']:.3f}, "
          f"{m['scored']} held-back executions)")
    print(f"duration: median relative error of p50 = "
          f"{m['duration_median_relative_error']:.1%} over {len(by_id)} workflows")
    print(f"prediction latency: {predict_ms:.1f} ms uncached, {cached_ms:.2f} ms cached "
          f"(per workflow, in-process)")
    better = "below" if m["brier"] < m["own_rate_brier"] else "not below"
    print(f"vs own-rate predictor: ours {m['brier']:.4f} is {better} its {m['own_rate_brier']:.4f}")
    for miss in misses:
        print(f"MISSED {miss}", file=sys.stderr)
    if m["duration_median_relative_error"] >= 0.2:
        print("MISSED median p50 error is not under 20%", file=sys.stderr)
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
