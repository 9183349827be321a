"""Evaluation of text -> workflow (``atom.intelligence.language``).

Runs ``generate`` on two corpora and prints, for each, the exact-match share: the generated
workflow's trigger (a service id for an event trigger, else ``schedule``/``webhook``/``manual``)
and its set of action services both right, a schedule's cron firing at the same 20 next times
from a fixed start. Corpora: the development set ``tests/eval/data/nl_dev.jsonl`` (written for
development) and the 40 public requests ``../shared/data/nl/requests.jsonl`` (never used to
tune). Then ``generate``'s latency p50/p95 over every request of both (the first call is a
warm-up that builds the vocabulary, and is left out).

    python tests/eval/eval_language.py [--verbose]
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from croniter import croniter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from atom.integrations.registry import discover  # noqa: E402
from atom.intelligence.language import generate  # noqa: E402

DEV = ROOT / "tests" / "eval" / "data" / "nl_dev.jsonl"
PUBLIC = ROOT.parent / "shared" / "data" / "nl" / "requests.jsonl"
# The corpora's service ids that differ from the plugin slugs.
IDS = {"teams": "microsoft_teams"}
START = datetime(2026, 1, 1, 0, 0)
FIRES = 20


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fires(cron: str) -> list[datetime]:
    it = croniter(cron, START)
    return [it.get_next(datetime) for _ in range(FIRES)]


def judge(case: dict, result: dict) -> tuple[bool, str]:
    workflow = result["workflow"]
    trigger = workflow["trigger"]
    got_trigger = trigger["service"] if trigger["type"] == "event" else trigger["type"]
    want_trigger = IDS.get(case["trigger"], case["trigger"])
    got_services = sorted({s["service"] for s in workflow["steps"] if s["type"] == "action"})
    want_services = sorted(IDS.get(s, s) for s in case["services"])
    problems = []
    if got_trigger != want_trigger:
        problems.append(f"trigger {got_trigger} != {want_trigger}")
    if got_services != want_services:
        problems.append(f"services {got_services} != {want_services}")
    if case.get("cron") and trigger["type"] == "schedule" and fires(trigger["cron"]) != fires(case["cron"]):
        problems.append(f"cron {trigger['cron']} != {case['cron']}")
    return not problems, "; ".join(problems)


def run(name: str, cases: list[dict], registry, latencies: list[float], verbose: bool) -> float:
    right = 0
    for case in cases:
        began = time.perf_counter()
        result = generate(case["text"], {}, registry=registry, connections={})
        latencies.append((time.perf_counter() - began) * 1000)
        ok, why = judge(case, result)
        right += ok
        if not ok and verbose:
            print(f"  MISS {case['text']!r}: {why}")
    share = right / len(cases)
    print(f"{name}: {right}/{len(cases)} exact ({share:.1%})")
    return share


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    verbose = "--verbose" in sys.argv or "-v" in sys.argv
    registry = discover()
    generate("warm-up: when a GitHub issue is opened, post to Slack", {}, registry=registry,
             connections={})
    latencies: list[float] = []
    run(f"development corpus ({DEV.relative_to(ROOT)})", load(DEV), registry, latencies, verbose)
    if PUBLIC.exists():
        # misses are not printed here: the public sentences are not for tuning
        run(f"public corpus ({PUBLIC.name}, never tuned on)", load(PUBLIC), registry, latencies, False)
    else:
        print(f"public corpus: {PUBLIC} not found, skipped")
    print(f"generate latency over {len(latencies)} requests (first call excluded as warm-up): "
          f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
          f"max {max(latencies):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
