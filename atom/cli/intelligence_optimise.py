"""``atom optimise WORKFLOW_ID``: the optimisation findings of a workflow's current version
(as ``POST /api/v2/workflows/enhanced/optimization/analyze``), and ``--apply`` to write them
as a new version (as ``POST .../optimization/apply``)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import OneLineError
from atom.cli.base import echo_json
from atom.cli.base import operator
from atom.cli.base import table

STRATEGIES = ("performance", "cost", "reliability", "hybrid")


@main.command("optimise")
@click.argument("workflow_id", type=click.IntRange(min=1, max=2 ** 63 - 1))
@click.option("--strategy", type=click.Choice(STRATEGIES), default="hybrid", show_default=True,
              help="performance (latency), cost (fewer calls), reliability, or hybrid (all).")
@click.option("--apply", "to_apply", metavar="auto|ID,ID",
              help='Apply findings as a new version: "auto" (the safe ones at or above the '
                   "auto-apply threshold) or finding ids, comma-separated.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the API answers.")
@with_appcontext
def optimise(workflow_id: int, strategy: str, to_apply: str | None, as_json: bool) -> None:
    """Optimisation findings for a workflow: evidence, effect, confidence, safe or not."""
    from atom.engine.workflows import current_definition
    from atom.extensions import db
    from atom.intelligence import enabled
    from atom.intelligence import optimisation as opt
    from atom.models import Workflow

    if not enabled("optimization"):
        raise OneLineError("the optimization component is switched off "
                           "(WORKFLOW_OPTIMIZATION_ENABLED=false)")
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise OneLineError(f"no workflow {workflow_id}")
    if to_apply is not None:
        chosen = "auto" if to_apply.strip() == "auto" else [
            i.strip() for i in to_apply.split(",") if i.strip()]
        if not chosen:
            raise OneLineError('--apply: "auto" or finding ids, comma-separated')
        try:
            row = opt.apply(workflow, chosen, operator(), strategy)
        except opt.OptimisationError as exc:
            raise OneLineError(f"--apply: {exc.message}") from exc
        data = opt.present_application(row)
        if as_json:
            echo_json(data)
            return
        click.echo(f"applied {len(data['applied'])} finding(s) to workflow {workflow_id}: "
                   f"version {data['from_version']} -> {data['to_version']} "
                   f"(application {data['id']})")
        for f in data["applied"]:
            click.echo(f"  {f['id']} {f['kind']}: {f['title']}")
        if data["diff"]["unified"]:
            click.echo(data["diff"]["unified"])
        return
    findings = opt.analyze(current_definition(workflow), workflow.id, strategy,
                           version=workflow.version)
    if as_json:
        echo_json({"workflow_id": workflow.id, "version": workflow.version, "strategy": strategy,
                   "findings": [f.to_dict() for f in findings],
                   "summary": opt.summary(findings)})
        return
    table(("ID", "KIND", "STEPS", "CONFIDENCE", "SAFE", "EFFECT"),
          [(f.id, f.kind, ",".join(f.steps), f"{f.confidence:.2f}",
            "yes" if f.safe else "needs a person", f.effect) for f in findings],
          empty=f"no findings for workflow {workflow_id} (v{workflow.version}, {strategy})")
