"""``atom users`` and ``atom keys``: the code of the admin API (:mod:`atom.accounts`), which
audits every change (as ``cli``)."""
from __future__ import annotations

import os
import runpy
import shlex
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import OneLineError
from atom.cli.base import api_page
from atom.cli.base import echo_json
from atom.cli.base import fetch
from atom.cli.base import next_page_hint
from atom.cli.base import table
from atom.cli.base import when

ROLES = click.Choice(["viewer", "editor", "admin"])
#: gunicorn's own default port, for a bind that names none.
GUNICORN_DEFAULT_PORT = "8000"
#: The bind when config/gunicorn.conf.py cannot be read (its default).
DEFAULT_BIND = "127.0.0.1:5058"


# -- users ----------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage dashboard users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=ROLES, default="viewer", show_default=True)
@click.option("--password", help="Omit to generate a one-time password that is printed once.")
@with_appcontext
def users_create(email: str, role: str, password: str | None) -> None:
    """Create a user (the same code as POST /api/v2/users)."""
    from atom.accounts import create_user

    user, one_time = create_user(email, role, "cli", password=password)
    click.echo(f"created {role} {user.email}")
    if one_time:
        click.echo(f"one-time password (change it at first sign-in; it expires in {_ttl()}):")
        click.echo(one_time)


@users.command("list")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v2/users).")
@with_appcontext
def users_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List users by id, a page at a time: id, email, role, state, last sign-in."""
    from atom.api.admin import users_page
    from atom.api.admin_schemas import UserList
    from atom.api.pagination import PageQuery

    body = api_page("/api/v2/users", users_page, PageQuery(), {"limit": limit, "cursor": cursor})
    rows = body["users"]
    if as_json:
        echo_json(UserList().dump(body))
        return
    table(("ID", "EMAIL", "ROLE", "STATE", "LAST SIGN-IN"),
          [(u["id"], u["email"], u["role"], "active" if u["active"] else "inactive",
            when(u["last_login_at"])) for u in rows],
          empty="no users yet: atom users bootstrap creates the first admin")
    next_page_hint(body)


@users.command("reset-password")
@click.argument("email")
@with_appcontext
def users_reset_password(email: str) -> None:
    """Give the user EMAIL a new one-time password, printed once, alone on the last line; their
    sessions end (the same as PATCH /api/v2/users/<id> with reset_password)."""
    from atom.accounts import normalise_email
    from atom.accounts import update_user
    from atom.extensions import db
    from atom.models import User

    user = db.session.execute(db.select(User).filter_by(email=normalise_email(email))
                              ).scalar_one_or_none()
    if user is None:
        raise OneLineError(f"no user {email}")
    one_time = update_user(user, {"reset_password": True}, "cli")
    if not user.active:
        click.echo(f"note: {user.email} is deactivated; the password works once the user is "
                   "active again", err=True)
    click.echo(f"reset the password of {user.email} (their sessions ended); one-time password "
               f"(change it at first sign-in; it expires in {_ttl()}):")
    click.echo(one_time)


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
    click.echo(f"Created the first admin user. {sign_in_hint()}")
    click.echo(f"  email:    {user.email}")
    click.echo(f"  password: {password}   (one-time: you will choose a new one; "
               f"it expires in {_ttl()})")
    click.echo("=" * 60)


def _ttl() -> str:
    hours = float(current_app.config["ONE_TIME_PASSWORD_TTL_S"]) / 3600
    return f"{hours:g} hours"


# -- where the server listens ---------------------------------------------------------------------


def sign_in_hint() -> str:
    """``Sign in at <url>/login``: the external URL (``ATOM_PUBLIC_URL``) if set, else the
    address gunicorn binds (see :func:`server_bind`)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return f"Sign in at {public}/login"
    bind, https = server_bind()
    base = base_url_of(bind, https)
    if base is None:
        return f"Sign in at /login on the proxy in front of {bind}"
    if split_bind(bind)[0] in WILDCARDS:
        return f"Sign in at {base}/login (the server listens on every address: {bind})"
    return f"Sign in at {base}/login"


def server_base_url() -> str:
    """The server's base URL for links the CLI prints (``ATOM_PUBLIC_URL`` first)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public
    bind, https = server_bind()
    return base_url_of(bind, https) or "http://localhost"


def server_bind() -> tuple[str, bool]:
    """The address the server binds and whether it serves TLS: ``--bind`` in
    ``GUNICORN_CMD_ARGS`` (it overrides the config file), else ``bind`` of
    ``config/gunicorn.conf.py`` (``ATOM_BIND``, with the file's default)."""
    args = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))
    binds, https = [], False
    for index, arg in enumerate(args):
        if arg in ("-b", "--bind") and index + 1 < len(args):
            binds.append(args[index + 1])
        elif arg.startswith("--bind="):
            binds.append(arg.partition("=")[2])
        elif arg.startswith("-b") and len(arg) > 2:
            binds.append(arg[2:])
        https |= arg.startswith("--certfile")
    conf = _gunicorn_settings()
    https |= bool(conf.get("certfile"))
    if binds:
        return binds[0], https
    bind = conf.get("bind") or os.environ.get("ATOM_BIND") or DEFAULT_BIND
    if isinstance(bind, (list, tuple)):
        bind = bind[0] if bind else DEFAULT_BIND
    return str(bind).strip(), https


def _gunicorn_settings() -> dict[str, Any]:
    """The settings ``config/gunicorn.conf.py`` computes from the environment ({} if absent)."""
    candidates = [Path.cwd() / "config" / "gunicorn.conf.py"]
    try:
        import config

        candidates.append(Path(config.__file__).parent / "gunicorn.conf.py")
    except ImportError:
        pass
    for path in candidates:
        if path.is_file():
            try:
                return runpy.run_path(str(path))
            except Exception:  # a broken file: gunicorn will say so; the banner falls back
                return {}
    return {}


WILDCARDS = ("0.0.0.0", "", "[::]")


def split_bind(bind: str) -> tuple[str, str]:
    """(host, port) of a TCP gunicorn bind: ``host:port``, ``[v6]:port``, ``host`` (port
    8000, gunicorn's default), ``:port``."""
    if bind.startswith("["):
        host, _, rest = bind.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else GUNICORN_DEFAULT_PORT
    if bind.count(":") == 1:
        host, _, port = bind.partition(":")
        return host, port or GUNICORN_DEFAULT_PORT
    if ":" in bind:  # a bare IPv6 address
        return f"[{bind}]", GUNICORN_DEFAULT_PORT
    return bind, GUNICORN_DEFAULT_PORT


def base_url_of(bind: str, https: bool = False) -> str | None:
    """``http://host:port`` for a gunicorn bind (every address, ``0.0.0.0`` or ``[::]``, as
    this host's loopback); None for a unix socket or a file descriptor."""
    if bind.startswith(("unix:", "fd://")) or "/" in bind:
        return None
    host, port = split_bind(bind)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    scheme = "https" if https else "http"
    default = (scheme == "http" and port == "80") or (scheme == "https" and port == "443")
    return f"{scheme}://{host}" + ("" if default or not port else f":{port}")


# -- API keys -------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Manage API keys and the encryption key."""


@keys.command("create")
@click.option("--name", required=True)
@click.option("--role", type=ROLES, required=True)
@with_appcontext
def keys_create(name: str, role: str) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from atom.accounts import create_key

    row, plain = create_key(name, role, "cli")
    click.echo(f"created {role} key {row.name!r} (id {row.id}); it is shown only now:")
    click.echo(plain)


@keys.command("list")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v2/keys).")
@with_appcontext
def keys_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List API keys by id, a page at a time, masked (their prefix only), with their state
    and last use."""
    from atom.api.admin import keys_page
    from atom.api.admin_schemas import KeyList
    from atom.api.pagination import PageQuery

    body = api_page("/api/v2/keys", keys_page, PageQuery(), {"limit": limit, "cursor": cursor})
    rows = body["keys"]
    if as_json:
        echo_json(KeyList().dump(body))
        return
    table(("ID", "NAME", "ROLE", "KEY", "STATE", "CREATED", "LAST USED", "EXPIRES"),
          [(k["id"], k["name"], k["role"], f"{k['prefix']}…", _key_state(k), when(k["created_at"]),
            when(k["last_used_at"]), when(k["expires_at"])) for k in rows],
          empty="no API keys yet: atom keys create --name NAME --role ROLE")
    next_page_hint(body)


def _key_state(key: dict[str, Any]) -> str:
    return "active" if key["active"] else ("revoked" if key["revoked_at"] else "expired")


@keys.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def keys_revoke(key_id: int) -> None:
    """Revoke the API key KEY_ID: the next request with it is refused (DELETE /api/v2/keys/<id>)."""
    from atom.accounts import revoke_key
    from atom.models import ApiKey
    from atom.models.base import utcnow

    key = fetch(ApiKey, key_id, "API key")
    if key.revoked_at is not None:
        click.echo(f"key {key_id} ({key.name!r}) was revoked already")
        return
    working = key.works_at(utcnow())
    revoke_key(key, "cli")
    click.echo(f"revoked key {key_id} ({key.name!r})" + ("" if working else "; it had expired"))


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
        new_keys = [Fernet.generate_key().decode(), *old]
        vault = Vault(new_keys)
        # The file first: from now on every reader can decrypt both the old and the new tokens.
        write_key_file(path, new_keys[:2])
    count = 0
    for conn in db.session.scalars(db.select(Connection)):
        conn.credentials_encrypted = vault.rotate(conn.credentials_encrypted)
        count += 1
    secrets_count = rotate_webhook_secrets(vault)
    db.session.commit()
    click.echo(f"re-encrypted the credentials of {count} connection(s) and "
               f"{secrets_count} workflow webhook secret(s) under the newest key")
