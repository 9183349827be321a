"""``atom troubleshoot EXECUTION_ID``: why an execution failed and what to do (as
``POST /api/v2/workflows/enhanced/troubleshooting/analyze``), and with ``--resolve`` the safe
fixes applied and the workflow re-run (as ``.../troubleshooting/resolve``)."""
from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import OneLineError
from atom.cli.base import echo_json

DEFAULT_WAIT_S = 30.0


@main.command("troubleshoot")
@click.argument("execution_id", type=click.IntRange(min=1, max=2 ** 63 - 1))
@click.option("--resolve", "fixes", metavar="auto|ID,ID",
              help='Apply these safe fixes ("auto": every safe one) as a new workflow version '
                   "and re-run.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0, max=600), default=DEFAULT_WAIT_S,
              show_default=True, help="With --resolve: seconds to wait for the re-run to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print the session as the API returns it.")
@with_appcontext
def troubleshoot(execution_id: int, fixes: str | None, wait_s: float, as_json: bool) -> None:
    """Analyse a failed execution: each failure's class and the integration's health then,
    the root cause with its evidence, and the fixes (safe, or needing a person).

    Exit status 0; with --resolve, 0 only if the re-run succeeded.
    """
    from atom.intelligence import enabled
    from atom.intelligence import troubleshooting as ts

    if not enabled("troubleshooting"):
        raise OneLineError("the troubleshooting component is switched off "
                           "(WORKFLOW_OPTIMIZATION_ENABLED=false)")
    chosen: Any = None
    if fixes is not None:
        chosen = ("auto" if fixes.strip() == "auto"
                  else [i.strip() for i in fixes.split(",") if i.strip()])
        if not chosen:
            raise click.BadParameter('give "auto" or fix ids separated by commas',
                                     param_hint="--resolve")
    try:
        session = ts.analyze(execution_id=execution_id, actor="cli")
        if chosen is not None:
            session = ts.resolve(session, chosen, "cli", wait_s=wait_s)
    except ts.TroubleshootingError as exc:
        raise OneLineError(exc.message) from exc
    body = ts.present(session)
    if as_json:
        echo_json(body)
    else:
        _summary(body)
    if chosen is not None and session.status != "resolved":
        raise click.exceptions.Exit(1)


def _summary(body: dict[str, Any]) -> None:
    click.echo(f"Session {body['id']} (workflow {body['workflow_id']}, execution "
               f"{body['execution_id']}): {body['status']}")
    click.echo(f"Root cause: {body['root_cause']['summary']}")
    click.echo("Failures:")
    for f in body["failures"]:
        code = f" {f['status_code']}" if f["status_code"] else ""
        click.echo(f"  execution {f['execution_id']} step {f['step_id']}: {f['class']}{code}, "
                   f"{len(f['attempts'])} attempt(s); {f['health']['relation']}")
    click.echo("Fixes:")
    for fix in body["fixes"]:
        mark = "safe" if fix["safe"] else "needs a person"
        click.echo(f"  [{fix['id']}] ({mark}) {fix['description']}")
    resolution = body.get("resolution")
    if resolution:
        parts = [f"applied {', '.join(resolution['applied']) or 'nothing'}"]
        if resolution.get("version"):
            parts.append(f"version {resolution['version']}")
        if resolution.get("rerun_execution_id"):
            parts.append(f"re-run execution {resolution['rerun_execution_id']}")
        click.echo(f"Resolution: {'; '.join(parts)}: {resolution['outcome']}")
