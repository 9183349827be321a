"""The ``atom`` command: ``atom run``, ``atom db upgrade``, users, keys, plugins, connections."""
from __future__ import annotations

import secrets
import sys

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
    """Create a user."""
    from atom.extensions import db
    from atom.models import User
    from atom.models.audit import record

    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="--email")
    if password is not None and len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="--password")
    if db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none():
        raise click.ClickException(f"a user {email} exists already")
    one_time = password is None
    plain = password or secrets.token_urlsafe(12)
    user = User(email=email, role=role, must_change_password=one_time)
    user.set_password(plain)
    db.session.add(user)
    record("cli", "user.create", f"user:{email}", role=role)
    db.session.commit()
    click.echo(f"created {role} {email}")
    if one_time:
        click.echo("one-time password (change it at first sign-in):")
        click.echo(plain)


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
    from atom.extensions import db
    from atom.models import User

    if db.session.execute(db.select(User.id).limit(1)).first():
        click.echo("users exist already; nothing to do")
        return
    password = secrets.token_urlsafe(12)
    user = User(email="admin@localhost", role="admin", must_change_password=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo("=" * 60)
    click.echo("Created the first admin user. Sign in at http://127.0.0.1:5058/login")
    click.echo("  email:    admin@localhost")
    click.echo(f"  password: {password}   (one-time: you will choose a new one)")
    click.echo("=" * 60)


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
    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models.audit import record

    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    row, plain = ApiKey.generate(name.strip(), role)
    db.session.add(row)
    record("cli", "key.create", f"key:{row.name}", role=role)
    db.session.commit()
    click.echo(f"created {role} key {row.name!r} (id {row.id}); it is shown only now:")
    click.echo(plain)


@keys.command("list")
@with_appcontext
def keys_list() -> None:
    from atom.extensions import db
    from atom.models import ApiKey

    for key in db.session.scalars(db.select(ApiKey).order_by(ApiKey.id)):
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.name}\t{key.role}\t{key.prefix}…\t{state}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def keys_revoke(key_id: int) -> None:
    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models.base import utcnow

    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise click.ClickException(f"no API key {key_id}")
    key.revoked_at = utcnow()
    db.session.commit()
    click.echo(f"revoked key {key_id}")


@keys.command("rotate-encryption")
@with_appcontext
def keys_rotate_encryption() -> None:
    """Re-encrypt every stored credential under the newest encryption key.

    With ``ATOM_ENCRYPTION_KEY="new,old"`` this moves everything to ``new``; afterwards ``old``
    can be dropped. With a generated development key, a new key is generated first.
    """
    from cryptography.fernet import Fernet

    from atom.extensions import db
    from atom.integrations.vault import KEY_FILE
    from atom.integrations.vault import Vault
    from atom.models import Connection
    from atom.state import get_state

    state = get_state()
    vault = state.vault
    key_file = None
    if not current_app.config.get("ENCRYPTION_KEY"):
        from pathlib import Path

        key_file = Path(current_app.instance_path) / KEY_FILE
        old = key_file.read_text().strip()
        new = Fernet.generate_key().decode()
        vault = Vault([new, old])
    count = 0
    for conn in db.session.scalars(db.select(Connection)):
        conn.credentials_encrypted = vault.rotate(conn.credentials_encrypted)
        count += 1
    db.session.commit()
    if key_file is not None:
        key_file.write_text(new)
    click.echo(f"re-encrypted the credentials of {count} connection(s) under the newest key")


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
