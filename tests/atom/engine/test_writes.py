"""What one webhook execution costs the database: its SQL statements and commits, counted with
SQLAlchemy's event hooks from the delivery to the execution's end."""
from __future__ import annotations

import threading

from sqlalchemy import event

from atom.engine import get_engine
from atom.extensions import db


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements: list[str] = []
        self.commits = 0

    def statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        with self.lock:
            self.statements.append(" ".join(statement.split())[:150])

    def commit(self, conn) -> None:
        with self.lock:
            self.commits += 1


def test_a_webhook_execution_costs_few_statements_and_commits(app, api):
    wf = api.create({"name": "hook", "trigger": {"type": "webhook"},
                     "steps": [{"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}}]})
    path = "/hooks/workflows/" + wf["webhook_url"].rsplit("/", 1)[1]
    engine = get_engine(app)
    for n in range(3):  # warm-up: the first request loads what later ones reuse
        engine.wait(api.client.post(path, json={"n": n}).get_json()["execution_id"], 20)
    with app.app_context():
        target = db.engine
    counter = Counter()
    event.listen(target, "before_cursor_execute", counter.statement)
    event.listen(target, "commit", counter.commit)
    try:
        # A workflow of transforms runs in the request: it has ended when the 202 comes back.
        response = api.client.post(path, json={"n": 7})
        assert response.status_code == 202
    finally:
        event.remove(target, "before_cursor_execute", counter.statement)
        event.remove(target, "commit", counter.commit)
    done = api.execution(response.get_json()["execution_id"])
    assert done["status"] == "succeeded" and done["steps"][0]["output"] == {"n": 7}
    assert len(counter.statements) <= STATEMENTS, "\n".join(counter.statements)
    assert counter.commits <= COMMITS


# Reading the workflow, its definition and its runs of the last minute (once: the run reuses
# them), the execution's insert and its run's count, its claim, the step row, the outcome;
# committed as the execution's row, its claim, and its end (before: 10 statements, 4 commits).
STATEMENTS = 6
COMMITS = 3
