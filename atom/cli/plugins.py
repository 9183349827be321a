"""``atom plugins``: the installed integration plugins."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import echo_json
from atom.cli.base import table


@main.group()
def plugins() -> None:
    """Inspect installed integration plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def plugins_list(as_json: bool) -> None:
    """List plugins with their state; exit 1 if one is broken."""
    from atom.state import get_state

    rows = [{"name": p.name, "state": p.state, "reason": p.reason,
             "display_name": p.manifest.display_name if p.manifest else None}
            for p in get_state().registry.all()]
    if as_json:
        echo_json({"plugins": rows})
    else:
        table(("NAME", "STATE", "DETAIL"),
              [(r["name"], r["state"], r["reason"] or r["display_name"] or "") for r in rows],
              empty="no plugins installed")
    sys.exit(1 if any(r["state"] == "broken" for r in rows) else 0)


@plugins.command("docs")
@click.option("--write", "path", type=click.Path(exists=True, dir_okay=False),
              help="Rewrite the integration table in this file (README.md) instead of printing it.")
@with_appcontext
def plugins_docs(path: str | None) -> None:
    """The integration table (auth, actions, triggers, contract), from the manifests."""
    from pathlib import Path

    from atom.integrations import docs
    from atom.state import get_state

    manifests = [p.manifest for p in get_state().registry.loaded() if p.manifest]
    if path is None:
        click.echo(docs.table(manifests))
        return
    changed = docs.write(Path(path), manifests)
    click.echo(f"{path}: {'updated' if changed else 'already current'}")
