"""Evaluation: optimisation of a workflow of four independent 300 ms calls declared in a chain.

Run ``python tests/eval/eval_optimisation.py``. The app is built by ``create_app`` on a
temporary SQLite database migrated with ``flask_migrate.upgrade()``; the four steps are real
``http.get`` actions against a :class:`tests.fakes.FakeServer` on 127.0.0.1 that answers each
path after 300 ms; each step reads nothing of the one before it, but ``depends_on`` chains
them (``a -> b -> c -> d``).

1. run the workflow ``--runs`` times (version 1) through the API;
2. ``POST .../optimization/analyze`` on it: the findings;
3. ``POST .../optimization/apply`` with the parallelise finding: version 2;
4. run it ``--runs`` times again;
5. ``GET .../optimization/apply/{id}``: the measured effect.

Durations are the executions' own (``finished_at - started_at`` as the engine stored them),
read back from the measured effect (p50 of the executions of each version). Prints::

    RESULT eval=optimisation before_p50_ms=... after_p50_ms=... ratio=... target=<0.5 ok=...

Exit 0 when the run worked (1 on an error; ``--strict``: also when the target is missed).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DELAY_S = 0.3
PATHS = ("/a", "/b", "/c", "/d")
BASE = "/api/v2/workflows/enhanced/optimization"


def workflow() -> dict:
    steps = []
    previous = None
    for path in PATHS:
        sid = path.strip("/")
        steps.append({"id": sid, "type": "action", "service": "http", "action": "get",
                      "parameters": {"path": path}, "timeout_s": 10,
                      "depends_on": [previous] if previous else []})
        previous = sid
    return {"name": "four independent calls in a chain", "trigger": {"type": "manual"},
            "steps": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="executions before and after")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app
    from atom.engine import get_engine
    from atom.extensions import db
    from atom.models import ApiKey
    from tests.fakes import FakeServer
    from tests.fakes import reply

    with tempfile.TemporaryDirectory() as tmp, FakeServer() as fake:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'eval.db'}",
                          "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                          "SECRET_KEY": "eval-optimisation", "LOG_LEVEL": "WARNING",
                          "OUTBOUND_ALLOW_PRIVATE": True})
        try:
            with app.app_context():
                upgrade()
                row, plain = ApiKey.generate("eval", "admin")
                db.session.add(row)
                db.session.commit()
            headers = {"Authorization": f"Bearer {plain}"}
            client = app.test_client()
            for path in PATHS:
                fake.always(path, reply(200, {"path": path}, delay=DELAY_S))
            conn = client.post("/api/v2/connections", headers=headers, json={
                "integration": "http", "label": "fake", "settings": {"base_url": fake.url,
                                                                    "max_attempts": 1}})
            assert conn.status_code == 201, conn.get_json()
            created = client.post("/api/v2/ai-workflows", headers=headers, json=workflow())
            assert created.status_code == 201, created.get_json()
            wf_id = created.get_json()["id"]

            def run(times: int) -> list[dict]:
                out = []
                for _ in range(times):
                    response = client.post(f"/api/v2/ai-workflows/{wf_id}/execute?wait=30",
                                           headers=headers, json={})
                    body = response.get_json()
                    if body["status"] != "succeeded":
                        raise SystemExit(f"execution {body['id']} {body['status']}: {body}")
                    out.append(body)
                return out

            before = run(args.runs)
            analysis = client.post(f"{BASE}/analyze", headers=headers,
                                   json={"workflow_id": wf_id}).get_json()
            print("findings:")
            for f in analysis["findings"]:
                print(f"  {f['id']} {f['kind']:<18} safe={f['safe']!s:<5} "
                      f"confidence={f['confidence']:.2f} steps={','.join(f['steps'])}: "
                      f"{f['effect']}")
            parallel = [f["id"] for f in analysis["findings"] if f["kind"] == "parallelise"]
            if not parallel:
                print("ERROR no parallelise finding", file=sys.stderr)
                return 1
            applied = client.post(f"{BASE}/apply", headers=headers,
                                  json={"workflow_id": wf_id, "findings": parallel})
            assert applied.status_code == 201, applied.get_json()
            application = applied.get_json()
            print(f"applied {parallel} as version {application['to_version']}; diff changes: "
                  + json.dumps(application["diff"]["changes"]))
            after = run(args.runs)
            result = client.get(f"{BASE}/apply/{application['id']}", headers=headers).get_json()
            base, measured = result["baseline"], result["measured"]
            assert base["executions"] == len(before) and measured["executions"] == len(after)
            print(f"before (v{base['version']}): {base['executions']} executions, "
                  f"p50 {base['p50_ms']} ms, p95 {base['p95_ms']} ms")
            print(f"after  (v{measured['version']}): {measured['executions']} executions, "
                  f"p50 {measured['p50_ms']} ms, p95 {measured['p95_ms']} ms")
            ratio = measured["p50_ms"] / base["p50_ms"]
            ok = ratio < 0.5
            print(f"RESULT eval=optimisation before_p50_ms={base['p50_ms']} "
                  f"after_p50_ms={measured['p50_ms']} ratio={ratio:.3f} target=<0.5 "
                  f"ok={str(ok).lower()}")
            if not ok:
                print(f"MISSED after/before {ratio:.3f} is not under 0.5", file=sys.stderr)
                return 1 if args.strict else 0
            return 0
        finally:
            from atom.state import get_state

            get_engine(app).close()
            get_state(app).recorder.close()  # its last flush, before the database goes
            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
