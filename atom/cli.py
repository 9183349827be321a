"""The ``atom`` command: ``atom run``, ``atom db upgrade``, users, keys, plugins, connections."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext


def _create_app():
    from atom import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """ATOM: integration hub and workflow automation."""


# -- users ----------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage dashboard users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), default="viewer",
              show_default=True)
@click.option("--password", help="Omit to generate a one-time password that is printed once.")
@with_appcontext
def users_create(email: str, role: str, password: str | None) -> None:
    """Create a user (the same code as POST /api/v2/users)."""
    from atom.accounts import create_user

    with _account_errors():
        user, one_time = create_user(email, role, "cli", password=password)
    click.echo(f"created {role} {user.email}")
    if one_time:
        click.echo(f"one-time password (change it at first sign-in; it expires in {_ttl()}):")
        click.echo(one_time)


@users.command("list")
@with_appcontext
def users_list() -> None:
    from atom.extensions import db
    from atom.models import User

    for user in db.session.scalars(db.select(User).order_by(User.id)):
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{'active' if user.active else 'inactive'}")


@users.command("bootstrap")
@with_appcontext
def users_bootstrap() -> None:
    """Create the first admin (admin@localhost) if there are no users; print its password once."""
    from atom.accounts import bootstrap_admin

    created = bootstrap_admin()
    if created is None:
        click.echo("users exist already; nothing to do")
        return
    user, password = created
    click.echo("=" * 60)
    click.echo("Created the first admin user. Sign in at http://127.0.0.1:5058/login")
    click.echo(f"  email:    {user.email}")
    click.echo(f"  password: {password}   (one-time: you will choose a new one; "
               f"it expires in {_ttl()})")
    click.echo("=" * 60)


def _ttl() -> str:
    hours = float(current_app.config["ONE_TIME_PASSWORD_TTL_S"]) / 3600
    return f"{hours:g} hours"


@contextmanager
def _account_errors() -> Iterator[None]:
    """Show a refused account change as a usage error naming the option."""
    from atom.accounts import AccountError

    try:
        yield
    except AccountError as exc:
        if exc.status == 422 and exc.field:
            raise click.BadParameter(exc.message, param_hint=f"--{exc.field}") from exc
        raise click.ClickException(exc.message) from exc


# -- keys -----------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Manage API keys and the encryption key."""


@keys.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), required=True)
@with_appcontext
def keys_create(name: str, role: str) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from atom.accounts import create_key

    with _account_errors():
        row, plain = create_key(name, role, "cli")
    click.echo(f"created {role} key {row.name!r} (id {row.id}); it is shown only now:")
    click.echo(plain)


@keys.command("list")
@with_appcontext
def keys_list() -> None:
    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models.base import utcnow

    for key in db.session.scalars(db.select(ApiKey).order_by(ApiKey.id)):
        state = "active" if key.works_at(utcnow()) else ("revoked" if key.revoked_at else "expired")
        click.echo(f"{key.id}\t{key.name}\t{key.role}\t{key.prefix}…\t{state}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def keys_revoke(key_id: int) -> None:
    from atom.accounts import revoke_key
    from atom.extensions import db
    from atom.models import ApiKey

    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise click.ClickException(f"no API key {key_id}")
    revoke_key(key, "cli")
    click.echo(f"revoked key {key_id}")


@keys.command("rotate-encryption")
@with_appcontext
def keys_rotate_encryption() -> None:
    """Re-encrypt every stored secret (connection credentials, workflow webhook secrets) under
    the newest encryption key.

    With ``ATOM_ENCRYPTION_KEY="new,old"`` this moves everything to ``new``; once every server
    runs with ``new,old``, it can then be set to ``new``. With a generated development key, a
    new key is generated and the key file becomes ``new,old``: a running server that still
    holds ``old`` re-reads it when a token does not decrypt.
    """
    from cryptography.fernet import Fernet

    from atom.engine.workflows import rotate_webhook_secrets
    from atom.extensions import db
    from atom.integrations.vault import Vault
    from atom.integrations.vault import key_file
    from atom.integrations.vault import parse_keys
    from atom.integrations.vault import write_key_file
    from atom.models import Connection
    from atom.state import get_state

    vault = get_state().vault
    if not current_app.config.get("ENCRYPTION_KEY"):
        path = key_file(current_app)
        old = parse_keys(path.read_text())
        keys = [Fernet.generate_key().decode(), *old]
        vault = Vault(keys)
        # The file first: from now on every reader can decrypt both the old and the new tokens.
        write_key_file(path, keys[:2])
    count = 0
    for conn in db.session.scalars(db.select(Connection)):
        conn.credentials_encrypted = vault.rotate(conn.credentials_encrypted)
        count += 1
    secrets_count = rotate_webhook_secrets(vault)
    db.session.commit()
    click.echo(f"re-encrypted the credentials of {count} connection(s) and "
               f"{secrets_count} workflow webhook secret(s) under the newest key")


# -- plugins --------------------------------------------------------------------------------


@main.group()
def plugins() -> None:
    """Inspect installed integration plugins."""


@plugins.command("list")
@with_appcontext
def plugins_list() -> None:
    from atom.state import get_state

    failed = False
    for plugin in get_state().registry.all():
        detail = plugin.reason or (plugin.manifest.display_name if plugin.manifest else "")
        click.echo(f"{plugin.name:<16} {plugin.state:<12} {detail}")
        failed |= plugin.state == "broken"
    sys.exit(1 if failed else 0)


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


# -- workflows ------------------------------------------------------------------------------


@main.group()
def workflows() -> None:
    """Run and inspect workflows."""


@workflows.command("list")
@with_appcontext
def workflows_list() -> None:
    from atom.extensions import db
    from atom.models import Workflow

    for wf in db.session.scalars(db.select(Workflow).filter_by(deleted_at=None).order_by(Workflow.id)):
        state = "enabled" if wf.enabled else "disabled"
        click.echo(f"{wf.id}\t{wf.name}\tv{wf.version}\t{wf.trigger_type}\t{state}")


@workflows.command("run")
@click.argument("workflow_id", type=int)
@click.option("--payload", "payload_file", type=click.File("r"), help="JSON file: the trigger payload")
@click.option("--wait", "wait_s", type=float, default=300.0, show_default=True,
              help="Seconds to wait for the execution to finish")
@with_appcontext
def workflows_run(workflow_id: int, payload_file, wait_s: float) -> None:
    """Run a workflow now and print its execution as JSON (exit 1 unless it succeeded)."""
    import json

    from atom.engine import get_engine
    from atom.engine.chains import ExecutionRefused
    from atom.engine.workflows import present_execution
    from atom.extensions import db
    from atom.models import Execution
    from atom.models import Workflow

    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise click.ClickException(f"no workflow {workflow_id}")
    if not workflow.enabled:
        raise click.ClickException(f"workflow {workflow_id} is disabled")
    payload = {}
    if payload_file is not None:
        try:
            payload = json.load(payload_file)
        except ValueError as exc:
            raise click.ClickException(f"--payload is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise click.ClickException("--payload must hold a JSON object")
    engine = get_engine()
    try:
        execution, _ = engine.start(workflow, payload, "manual")
    except ExecutionRefused as exc:
        raise click.ClickException(str(exc)) from exc
    finished = engine.wait(execution.id, wait_s)
    db.session.expire_all()
    result = present_execution(db.session.get(Execution, execution.id))
    click.echo(json.dumps(result, indent=2, default=str))
    if not finished:
        raise click.ClickException(f"execution {execution.id} still {result['status']} after {wait_s}s")
    sys.exit(0 if result["status"] == "succeeded" else 1)


@workflows.command("prune")
@with_appcontext
def workflows_prune() -> None:
    """Delete finished executions older than ATOM_EXECUTION_RETENTION_DAYS."""
    from atom.engine.triggers import prune_executions

    click.echo(f"pruned {prune_executions(current_app._get_current_object())} execution(s)")


# -- monitoring (atom/monitoring/cli.py) ----------------------------------------------------

from atom.monitoring.cli import anomaly_cmd  # noqa: E402
from atom.monitoring.cli import health_cmd  # noqa: E402
from atom.monitoring.cli import monitoring_cmd  # noqa: E402
from atom.monitoring.cli import scheduler_cmd  # noqa: E402
from atom.monitoring.cli import test_cmd  # noqa: E402

main.add_command(health_cmd)
main.add_command(test_cmd)
main.add_command(anomaly_cmd)
main.add_command(monitoring_cmd)
main.add_command(scheduler_cmd)
