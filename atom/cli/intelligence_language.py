"""``atom generate "text"``: a workflow from plain English (the same call as
``POST /api/v2/workflows/enhanced/intelligence/generate``), printed as the explanation and the
definition; ``--save`` creates it."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import OneLineError
from atom.cli.base import echo_json
from atom.cli.base import operator


@main.command("generate")
@click.argument("text")
@click.option("--timezone", "timezone", help="IANA time zone for a schedule (default UTC).")
@click.option("--save", is_flag=True, help="Create the workflow (as POST /api/v2/ai-workflows).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON, as the API returns it.")
@click.option("--by", "by", help="Who is creating it, for the audit log (default: the OS user).")
@with_appcontext
def generate_cmd(text: str, timezone: str | None, save: bool, as_json: bool, by: str | None) -> None:
    """Generate a workflow from TEXT: trigger, actions, parameters, connections."""
    from atom.engine.workflows import create_workflow
    from atom.engine.workflows import present
    from atom.intelligence import enabled
    from atom.intelligence import language

    if not enabled("intelligence"):
        raise OneLineError("text to workflow is switched off (AI_WORKFLOW_ENABLED=false)")
    text = text.strip()
    if not text:
        raise OneLineError("TEXT: describe the workflow in words")
    if len(text) > language.MAX_INPUT:
        raise OneLineError(f"TEXT: at most {language.MAX_INPUT} characters ({len(text)} given)")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OneLineError(f"--timezone: unknown time zone {timezone!r}") from None
    result = language.generate(text, {"timezone": timezone} if timezone else {})
    result["saved"] = False
    if save and not result["analysis"]["actions"]:
        raise OneLineError("TEXT: nothing to save, no action was recognised (name a service to act on)")
    if save:
        workflow = create_workflow(result["workflow"], f"cli:{operator(by)}")
        from atom.cli.accounts import server_base_url

        with current_app.test_request_context(base_url=server_base_url()):
            result["workflow"] = present(workflow)
        result["saved"] = True
    if as_json:
        echo_json(result)
        return
    click.echo(result["explanation"])
    for q in result["analysis"]["questions"]:
        click.echo(f"? {q['field']}: {q['question']}")
    click.echo(json.dumps(result["workflow"], indent=2))
    if save:
        click.echo(f"created workflow {result['workflow']['id']}")
