"""How far one execution's work may spread: execution chains, and runs per workflow per minute.

An execution started by a person, a schedule or an outside event is the root of a chain. The
sub-workflows it runs, and the executions that its steps' outbound calls start through ATOM's
own webhooks, belong to the same chain, one level deeper each. ATOM's outbound calls carry
``X-Atom-Execution: <root id>.<depth>.<signature>`` (set around each step's service call, see
:data:`atom.integrations.http.execution_chain`); a webhook receiver starts the new execution one
level deeper in that chain. Past ``MAX_WORKFLOW_DEPTH`` levels, or once the chain holds
``WORKFLOW_MAX_DESCENDANTS`` executions besides its root, nothing more starts in it.

The signature (HMAC-SHA256 with the app's secret key) is what makes the root id believable.
An unsigned or forged header can only make a chain shorter-lived: its depth is honoured (a
deeper claim is refused sooner), its root id is not (the execution starts a chain of its own,
so a forged header cannot spend another chain's budget).

Besides chains, a workflow starts at most ``WORKFLOW_MAX_RUNS_PER_MINUTE`` executions in any
60 seconds (sub-workflow runs are bounded by their chain instead).
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any
from typing import Mapping

from flask import Flask
from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import select

from atom.extensions import db
from atom.models import Execution
from atom.models import WorkflowRunCount
from atom.models.base import dialect_insert

HEADER = "X-Atom-Execution"
WINDOW_S = 60
# Serialises counting a chain's executions with adding one, within this process (where every
# sub-workflow of a chain is started), so parallel sub-workflow steps cannot overshoot the cap.
CHAIN_LOCK = threading.Lock()


class ExecutionRefused(Exception):
    """An execution that must not start; ``status`` and ``code`` are what the API answers."""

    status = 409
    code = "conflict"
    retry_after: float | None = None


class ChainLimit(ExecutionRefused):
    """The execution chain is as deep, or as large, as it may be."""

    code = "execution_chain_limit"


class RunLimit(ExecutionRefused):
    """The workflow started as many executions as it may this minute."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Chain:
    """Where a call came from: the depth of the execution that made it, and its chain's root
    (``None`` when the header was not signed by this ATOM)."""

    depth: int
    root_id: int | None = None


# -- the header ----------------------------------------------------------------------------------


def outbound_value(app: Flask, root_id: int, depth: int) -> str:
    """The ``X-Atom-Execution`` value for the calls of an execution at ``depth`` in the chain
    rooted at execution ``root_id``."""
    return f"{root_id}.{depth}.{_sign(app, root_id, depth)}"


def _sign(app: Flask, root_id: int, depth: int) -> str:
    key = str(app.config.get("SECRET_KEY") or "").encode()
    message = f"atom-execution:{root_id}.{depth}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def inbound(headers: Mapping[str, str]) -> Chain | None:
    """The chain a request to an ATOM webhook belongs to (``None``: it starts one).

    :raises ChainLimit: when the chain is already as deep as it may be (before anything is
        stored for the request).
    """
    value = headers.get(HEADER)
    if not value:
        return None
    root, _, rest = value.strip().partition(".")
    depth_text, _, signature = rest.partition(".")
    if not depth_text.isdigit() or len(depth_text) > 6:
        return None  # not ATOM's: nothing to honour
    depth = int(depth_text)
    chain = Chain(depth)
    if root.isdigit() and len(root) <= 18 and current_app.config.get("SECRET_KEY") and \
            hmac.compare_digest(signature, _sign(current_app, int(root), depth)):
        chain = Chain(depth, int(root))
    check_depth(chain)
    return chain


# -- the limits ----------------------------------------------------------------------------------


def check_depth(chain: Chain) -> None:
    limit = current_app.config["MAX_WORKFLOW_DEPTH"]
    if chain.depth + 1 > limit:
        raise ChainLimit(f"execution chain depth limit ({limit}) reached: this request comes from "
                         f"an execution {chain.depth} level(s) deep (MAX_WORKFLOW_DEPTH)")


def check_descendants(root_id: int) -> None:
    """Refuse one more execution in the chain rooted at ``root_id`` beyond the cap."""
    limit = current_app.config["WORKFLOW_MAX_DESCENDANTS"]
    if not limit:
        return
    started = db.session.scalar(db.select(db.func.count()).select_from(Execution)
                                .where(Execution.root_id == root_id))
    if started >= limit:
        raise ChainLimit(f"execution chain limit reached: execution {root_id} and what it started "
                         f"already ran {started} more executions (WORKFLOW_MAX_DESCENDANTS={limit})")


_COUNTS = WorkflowRunCount.__table__
_WINDOW = (select(_COUNTS.c.second, _COUNTS.c.count)
           .where(_COUNTS.c.workflow_id == bindparam("w"), _COUNTS.c.second > bindparam("since"))
           .order_by(_COUNTS.c.second))
_BUMP_UPDATE = (_COUNTS.update().where(_COUNTS.c.workflow_id == bindparam("w"), _COUNTS.c.second == bindparam("s"))
                .values(count=_COUNTS.c.count + 1))
_BUMPS: dict[str, Any] = {}


def _bump(workflow_id: int, second: int) -> None:
    """Count one start in ``second`` (an upsert where the dialect has one)."""
    dialect = db.session.get_bind().dialect
    if dialect.name not in _BUMPS:
        insert = dialect_insert(dialect)
        _BUMPS[dialect.name] = None if insert is None else insert(_COUNTS).values(
            workflow_id=bindparam("w"), second=bindparam("s"), count=1).on_conflict_do_update(
            index_elements=["workflow_id", "second"], set_={"count": _COUNTS.c.count + 1})
    upsert = _BUMPS[dialect.name]
    if upsert is not None:
        db.session.execute(upsert, {"w": workflow_id, "s": second})
    elif db.session.execute(_BUMP_UPDATE, {"w": workflow_id, "s": second}).rowcount == 0:
        db.session.execute(_COUNTS.insert(), {"workflow_id": workflow_id, "second": second, "count": 1})


def run_window_start(now: int | None = None) -> int:
    """The last second before the per-minute window (counters of later seconds are in it)."""
    return (int(time.time()) if now is None else now) - WINDOW_S


def check_rate(workflow_id: int, recent: int | None = None) -> None:
    """Refuse a run of a workflow that started ``WORKFLOW_MAX_RUNS_PER_MINUTE`` in the last
    minute (its last 60 per-second counters); ``retry_after`` is when the oldest of those
    leaves the window. The caller counts the run it starts with :func:`count_run`.

    :param recent: the window's sum, when the caller read it with the workflow (the
        ``recent_runs`` of :func:`atom.engine.workflows.runnable`): under the limit, nothing
        more is read."""
    limit = current_app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"]
    if not limit or (recent is not None and recent < limit):
        return
    now = int(time.time())
    seconds = db.session.execute(_WINDOW, {"w": workflow_id, "since": run_window_start(now)}).all()
    started = sum(count for _, count in seconds)
    if started < limit:
        return
    # The second whose runs must leave the window before one more fits.
    left = started
    for second, count in seconds:
        left -= count
        if left < limit:
            break
    raise RunLimit(f"workflow {workflow_id} started {started} executions in the last minute; at most "
                   f"{limit} (WORKFLOW_MAX_RUNS_PER_MINUTE)", retry_after=max(1, second + WINDOW_S - now))


def count_run(workflow_id: int) -> None:
    """Count a top-level run of the workflow in the caller's transaction (so a start that is
    rolled back counts nothing). Call it last before the commit: on PostgreSQL the counter's
    row stays locked until then, and the other starts of the workflow wait for it."""
    if current_app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"]:
        _bump(workflow_id, int(time.time()))


def prune_run_counts(app: Flask) -> int:
    """Delete the per-second run counters no window reaches any more."""
    with app.app_context():
        result = db.session.execute(_COUNTS.delete().where(_COUNTS.c.second <= int(time.time()) - WINDOW_S))
        db.session.commit()
        return result.rowcount or 0


def admit(workflow_id: int, chain: Chain | None, recent: int | None = None) -> dict[str, Any]:
    """Check a new top-level execution against every limit; return its ``depth`` and
    ``root_id`` columns.

    :param recent: the workflow's runs of the last minute, if read already (see :func:`check_rate`).
    :raises ExecutionRefused: a :class:`ChainLimit` or a :class:`RunLimit`.
    """
    if chain is None:
        check_rate(workflow_id, recent)
        return {"depth": 0, "root_id": None}
    check_depth(chain)
    if chain.root_id is not None:
        check_descendants(chain.root_id)
    check_rate(workflow_id, recent)
    return {"depth": chain.depth + 1, "root_id": chain.root_id}
