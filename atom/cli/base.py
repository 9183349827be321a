"""What every ``atom`` command shares.

* The command classes: :class:`AtomGroup` (the ``atom`` command itself, a ``FlaskGroup`` whose
  help lists ATOM's commands first and Flask's, Flask-Migrate's and the extensions' own apart)
  and :class:`AtomCommand` / :class:`AtomSubGroup`, which every ATOM command is built from.
* One place for errors: a known exception (a refused change, an unknown id, an unmigrated
  database, an unwritable file, bad JSON) becomes one line on stderr and a non-zero exit, never
  a traceback (:func:`translate`); usage errors are one line too. ``ATOM_CLI_TRACEBACK=1``
  shows the traceback of an unexpected error.
* Output: tables (aligned with a header on a terminal, tab-separated rows when piped), JSON,
  and a live count on stderr while long work runs (on a terminal only).
"""
from __future__ import annotations

import copy
import errno
import getpass
import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import ScriptInfo

#: ATOM's commands in the order ``atom --help`` lists them (others follow, by name).
ORDER = ("connections", "workflows", "executions", "alerts", "health", "test", "monitoring",
         "anomaly", "users", "keys", "plugins", "scheduler", "worker")
FOREIGN_ORDER = ("db", "run", "shell", "routes")
FOREIGN_SECTION = "Server, database and extension commands (Flask, Flask-Migrate, ...)"
UPGRADE_HINT = "run `atom db upgrade` first"


# -- errors -------------------------------------------------------------------------------------


def one_line(text: Any) -> str:
    """``text`` on a single line (newlines and runs of spaces collapsed)."""
    return " ".join(str(text).split())


class OneLineError(click.ClickException):
    """A :class:`click.ClickException` shown as exactly one line, ``Error: <message>``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(one_line(message))
        self.exit_code = exit_code


def _usage_line(exc: click.UsageError) -> OneLineError:
    """A usage error on one line, with where to find help (instead of click's usage block)."""
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return OneLineError(exc.format_message() + hint, exit_code=exc.exit_code)


def _passes_through(exc: BaseException) -> bool:
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return True  # a group called alone shows its help
    if isinstance(exc, (click.exceptions.Exit, click.exceptions.Abort)):
        return True
    if isinstance(exc, click.ClickException) and not isinstance(exc, click.UsageError):
        return True
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE  # click handles a closed pipe


def translate(exc: Exception, ctx: click.Context | None = None) -> click.ClickException | None:
    """The one-line error for a known exception; None for an unexpected one."""
    from marshmallow import ValidationError
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm.exc import ObjectDeletedError
    from sqlalchemy.orm.exc import StaleDataError

    from atom.accounts import AccountError
    from atom.api.errors import ApiError
    from atom.engine.chains import ExecutionRefused
    from atom.engine.definition import DefinitionError
    from atom.engine.executions import ExecutionConflict
    from atom.integrations.connections import ConnectionInUse
    from atom.integrations.errors import IntegrationError
    from atom.integrations.registry import UnknownPlugin
    from atom.monitoring.alerts import AlertConflict
    from atom.monitoring.anomaly import SeriesError
    from atom.monitoring.notify import ChannelError
    from atom.monitoring.thresholds import ThresholdError
    from atom.settings import ConfigError

    if isinstance(exc, click.UsageError):
        return _usage_line(exc)
    if isinstance(exc, AccountError):
        option = _option_for(ctx, exc.field)
        return OneLineError(f"{option}: {exc.message}" if option else exc.message)
    if isinstance(exc, ValidationError):
        return OneLineError("invalid input: " + _field_messages(exc.normalized_messages(), ctx))
    if isinstance(exc, DefinitionError):
        return OneLineError("invalid workflow: " + _field_messages(exc.errors, ctx))
    if isinstance(exc, IntegrationError):
        return OneLineError(f"{exc.code}: {exc.message}")
    if isinstance(exc, ApiError):
        return OneLineError(exc.message)
    if isinstance(exc, (ExecutionRefused, ExecutionConflict, UnknownPlugin, AlertConflict,
                        ThresholdError, ChannelError, ConnectionInUse, ConfigError, SeriesError)):
        return OneLineError(str(exc).strip("'\""))
    if isinstance(exc, (ObjectDeletedError, StaleDataError)):
        return OneLineError("a row this command changes was deleted meanwhile; nothing was kept")
    if isinstance(exc, DBAPIError):
        return OneLineError(database_problem(exc, ctx))
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or one_line(exc) or type(exc).__name__
        return OneLineError(f"{where}: {reason}" if where else reason)
    return None


def _field_messages(errors: Any, ctx: click.Context | None) -> str:
    """``{"a": ["m"], "b": {"c": ["n"]}}`` as ``--a: m; b.c: n`` (options named as typed)."""
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (list, tuple)):
            texts = [v for v in value if not isinstance(v, (dict, list, tuple))]
            if texts:
                parts.append(f"{_option_for(ctx, prefix) or prefix}: {' '.join(map(str, texts))}")
            for inner in value:
                if isinstance(inner, (dict, list, tuple)):
                    walk(prefix, inner)
        else:
            parts.append(f"{_option_for(ctx, prefix) or prefix}: {value}")

    walk("", errors)
    return "; ".join(parts) or "rejected"


def _option_for(ctx: click.Context | None, field: str | None) -> str | None:
    """The option of the command being run that carries ``field`` (``--email``), if one does."""
    if ctx is None or not field:
        return None
    aliases = getattr(ctx.command, "field_options", {})
    if field in aliases:
        return aliases[field]
    for param in ctx.command.params:
        if isinstance(param, click.Option) and param.name == field:
            return max(param.opts, key=len)
    return None


def database_problem(exc: Exception, ctx: click.Context | None = None) -> str:
    """Why the database refused: not migrated (say how to fix it), unreachable, or else."""
    app = _loaded_app(ctx)
    cause = one_line(getattr(exc, "orig", None) or exc).split(" [SQL:")[0]
    if app is None:
        return f"database error: {cause}"
    return schema_problem(app) or f"database error: {cause}"


def schema_problem(app: Any) -> str | None:
    """What keeps the database from being used (unreachable, not migrated), or None."""
    try:
        current, heads = schema_revisions(app)
    except Exception as check:  # the database cannot even be read
        reason = one_line(getattr(check, "orig", check))
        return f"cannot use the database {database_url(app)}: {reason}"
    if not current:
        return f"the database {database_url(app)} has no ATOM tables yet: {UPGRADE_HINT}"
    if set(current) != set(heads):
        return (f"the database {database_url(app)} is at migration {', '.join(sorted(current))}, "
                f"not the latest ({', '.join(sorted(heads))}): {UPGRADE_HINT}")
    return None


def require_schema(app: Any) -> None:
    """Refuse to start long-running work on a database that cannot be used as it is."""
    problem = schema_problem(app)
    if problem:
        raise OneLineError(problem)


def schema_revisions(app: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The database's migration revisions and the latest ones this code has."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from atom.extensions import db
    from atom.state import MIGRATIONS

    heads = tuple(ScriptDirectory(MIGRATIONS).get_heads())
    with app.app_context():
        with db.engine.connect() as conn:
            current = tuple(MigrationContext.configure(conn).get_current_heads())
    return current, heads


def database_url(app: Any) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    except Exception:
        return "(configured database)"


def _loaded_app(ctx: click.Context | None) -> Any:
    from flask import current_app

    if current_app:
        return current_app._get_current_object()  # type: ignore[attr-defined]
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    return getattr(info, "_loaded_app", None)


def _unexpected(exc: Exception) -> OneLineError:
    return OneLineError(f"unexpected {type(exc).__name__}: {one_line(exc) or 'no message'} "
                        "(set ATOM_CLI_TRACEBACK=1 to see where)")


def _raise_translated(exc: Exception, ctx: click.Context | None) -> None:
    if _passes_through(exc) or os.environ.get("ATOM_CLI_TRACEBACK") == "1":
        raise exc
    translated = translate(exc, ctx)
    raise (translated or _unexpected(exc)) from exc


# -- command classes ------------------------------------------------------------------------------


class AtomCommand(click.Command):
    """An ATOM command: a known exception is one line on stderr and exit status 1 (or 2 for
    a usage error).

    ``field_options`` maps an input field named in an error to the option that carries it
    (``{"workflow_id": "--workflow"}``).
    """

    def __init__(self, *args: Any, field_options: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_options = field_options or {}

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with console_logs_without_tracebacks():
                return super().invoke(ctx)
        except Exception as exc:
            _raise_translated(exc, ctx)


class _WithoutTraceback(logging.Formatter):
    """Formats a record as ``inner`` does, without its traceback (a logged plugin error shows
    its line; the command's own result says what failed)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return self.inner.format(record)
        plain = copy.copy(record)
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return self.inner.format(plain) + " (traceback hidden: ATOM_CLI_TRACEBACK=1 shows it)"


@contextmanager
def console_logs_without_tracebacks() -> Iterator[None]:
    """While an ATOM command runs, log lines on the console carry no traceback (unless
    ``ATOM_CLI_TRACEBACK=1``); log files keep theirs."""
    if os.environ.get("ATOM_CLI_TRACEBACK") == "1":
        yield
        return
    changed = [(h, h.formatter) for h in logging.getLogger().handlers
               if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    for handler, formatter in changed:
        handler.setFormatter(_WithoutTraceback(formatter))
    try:
        yield
    finally:
        for handler, formatter in changed:
            handler.setFormatter(formatter)


class AtomSubGroup(click.Group):
    """A group of ATOM commands (``atom users``, ...): its commands are :class:`AtomCommand`."""

    command_class = AtomCommand
    group_class = type  # nested groups are AtomSubGroups too


class AtomGroup(FlaskGroup):
    """The ``atom`` command: Flask's CLI (``run``, ``shell``, ``routes``, ``db``, extensions'
    commands) with ATOM's commands listed first in its help and the others in a section apart;
    every error one line."""

    command_class = AtomCommand
    group_class = AtomSubGroup

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ATOM builds its own app: --app still works, but is not advertised.
        for index, param in enumerate(self.params):
            if param.name == "app":
                hidden = copy.copy(param)
                hidden.hidden = True  # type: ignore[attr-defined]
                self.params[index] = hidden

    def group(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", AtomSubGroup)  # not Flask's AppGroup
        return super().group(*args, **kwargs)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            if _passes_through(exc):
                raise
            raise _usage_line(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            _raise_translated(exc, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        try:
            return super().get_command(ctx, name)
        except Exception as exc:  # the app (needed for the extensions' commands) did not load
            _raise_translated(exc, ctx)
            return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        names = set(click.Group.list_commands(self, ctx))
        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except Exception as exc:  # help still lists ATOM's commands; one line says why not more
            translated = translate(exc, ctx) if isinstance(exc, Exception) else None
            message = translated.message if translated else f"{type(exc).__name__}: {one_line(exc)}"
            click.echo(f"Error: cannot load the app's own commands: {message}", err=True)
        return sorted(names)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = []
        for name in self.list_commands(ctx):
            try:
                command = self.get_command(ctx, name)
            except click.ClickException:
                continue
            if command is not None and not command.hidden:
                commands.append((name, command))
        if not commands:
            return
        ours = sorted((c for c in commands if is_atom_command(c[1])),
                      key=lambda c: (ORDER.index(c[0]) if c[0] in ORDER else len(ORDER), c[0]))
        theirs = sorted((c for c in commands if not is_atom_command(c[1])),
                        key=lambda c: (FOREIGN_ORDER.index(c[0]) if c[0] in FOREIGN_ORDER
                                       else len(FOREIGN_ORDER), c[0]))
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        for title, group in (("Commands", ours), (FOREIGN_SECTION, theirs)):
            if group:
                with formatter.section(title):
                    formatter.write_dl([(name, cmd.get_short_help_str(limit))
                                        for name, cmd in group])


def is_atom_command(command: click.Command) -> bool:
    """Whether ATOM defines ``command`` (not Flask, Flask-Migrate or an extension)."""
    module = getattr(command.callback, "__module__", "") or ""
    return module == "atom" or module.startswith("atom.")


# -- input ----------------------------------------------------------------------------------------


class JsonObject(click.ParamType):
    """A JSON object given inline (``--data '{"a": 1}'``)."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        return self._load(value, param, ctx)

    def _load(self, text: str, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.fail(f"not valid JSON: {exc}", param, ctx)
        if not isinstance(data, dict):
            self.fail(f"must hold a JSON object, not {type(data).__name__}", param, ctx)
        return data


class JsonFile(JsonObject):
    """A file holding a JSON object (``-`` reads stdin)."""

    name = "FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            with click.open_file(value, "r", encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(f"cannot read {value}: {getattr(exc, 'strerror', None) or exc}", param, ctx)
        return self._load(text, param, ctx)


class OutputFile(click.ParamType):
    """A file this command will write: checked before the work starts (its folder must exist
    and be writable; the file, if there, must be a writable file)."""

    name = "FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(value)
        if path.is_dir():
            self.fail(f"{value} is a directory", param, ctx)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            self.fail(f"cannot write {value}: the folder {folder} does not exist", param, ctx)
        if path.exists() and not os.access(path, os.W_OK):
            self.fail(f"cannot write {value}: permission denied", param, ctx)
        if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
            self.fail(f"cannot write {value}: the folder {folder} is not writable", param, ctx)
        return str(path)


def write_file(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (an OSError is one line through :func:`translate`)."""
    Path(path).write_text(text, encoding="utf-8")


def load_options(schema: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Validate command options with the API's query schema (so the CLI accepts what the API
    accepts): ``values`` maps each field to its option's value (None: not given). A refused
    value is a usage error naming its option."""
    from marshmallow import ValidationError

    try:
        return schema.load({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        ctx = click.get_current_context(silent=True)
        raise OneLineError("invalid input: " + _field_messages(exc.normalized_messages(), ctx),
                           exit_code=2) from exc


def api_page(path: str, page_of: Callable[[dict[str, Any]], dict[str, Any]], schema: Any,
             values: dict[str, Any]) -> dict[str, Any]:
    """One page of an API list, as ``GET path`` answers it: ``values`` (the command's
    ``--limit``, ``--cursor`` and filters) validated by the API's query schema, and the page
    built in a request of ``path`` on the server's address, so that its ``next_cursor`` is one
    the API accepts (and the API's cursors are accepted here) and its URLs are the server's."""
    from atom.cli.accounts import server_base_url

    query = load_options(schema, values)
    with current_app.test_request_context(path, base_url=server_base_url()):
        from atom.api.errors import ApiError

        try:
            return page_of(query)
        except ApiError as exc:
            raise OneLineError(f"invalid input: {exc.message}", exit_code=2) from exc


def next_page_hint(body: dict[str, Any]) -> None:
    """Say on stderr how to get the next page, when there is one."""
    if body.get("next_cursor"):
        click.echo(f"more: add --cursor {body['next_cursor']}", err=True)


def operator(given: str | None = None) -> str:
    """Who runs this command: ``given`` (``--by``), else the OS user."""
    if given and given.strip():
        return given.strip()
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without passwd entry)
        return "cli"


def fetch(model: Any, row_id: int, what: str) -> Any:
    """The row ``row_id`` of ``model``, or a one-line error naming it (``no execution 7``)."""
    from atom.extensions import db

    row = db.session.get(model, row_id) if 0 < row_id <= 2 ** 63 - 1 else None
    if row is None:
        raise OneLineError(f"no {what} {row_id}")
    return row


# -- output ---------------------------------------------------------------------------------------


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (tests patch this)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def stdout_is_tty() -> bool:
    return isatty(sys.stdout)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], empty: str | None = None) -> None:
    """Print rows: aligned under a header on a terminal; tab-separated, without a header, when
    piped (for ``cut``, ``awk``, ``grep``). ``empty`` is said (on stderr) when there are none."""
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        if empty:
            click.echo(empty, err=True)
        return
    if not stdout_is_tty():
        for row in cells:
            click.echo("\t".join(row))
        return
    for line in aligned(header, cells):
        click.echo(line)


def aligned(header: Sequence[str] | None, rows: Iterable[Sequence[Any]],
            indent: str = "") -> list[str]:
    """Rows as lines of columns padded to their widest cell (under ``header``, if given)."""
    lines = [list(header)] if header else []
    lines += [[_cell(v) for v in row] for row in rows]
    if not lines:
        return []
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
            for line in lines]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return one_line(value)


def when(iso: str | None) -> str:
    """An API timestamp (``2026-01-02T03:04:05.678Z``) as ``2026-01-02 03:04:05Z``."""
    if not iso:
        return "-"
    text = iso.replace("T", " ")
    head, _, _ = text.partition(".")
    return head.rstrip("Z") + "Z"


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(ms / 1000, 60)
    return f"{int(minutes)} min {seconds:.0f} s"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


class Live:
    """A live count on stderr while long work runs, redrawn in place, on a terminal only
    (nothing at all when stderr is a file or a pipe).

    ``advance`` counts one item done; ``echo`` prints a lasting line on stdout above the live
    one. Thread-safe: items may finish on worker threads.
    """

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label, self.total = label, total
        self.done = self.failed = 0
        self.detail = ""
        self.enabled = isatty(sys.stderr)
        self._lock = threading.RLock()
        self._shown = False

    def __enter__(self) -> Live:
        self._draw()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.clear()

    def advance(self, detail: str = "", failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += int(failed)
            self.detail = detail
            self._draw()

    def status(self, detail: str) -> None:
        """Change the text after the count (``waiting for step fetch``)."""
        with self._lock:
            self.detail = detail
            self._draw()

    def echo(self, line: str) -> None:
        with self._lock:
            self.clear()
            click.echo(line)
            self._draw()

    def clear(self) -> None:
        with self._lock:
            if self.enabled and self._shown:
                sys.stderr.write("\r\x1b[2K")
                sys.stderr.flush()
                self._shown = False

    def _draw(self) -> None:
        if not self.enabled:
            return
        parts = [self.label]
        if self.total:
            filled = int(20 * self.done / self.total)
            parts.append(f"[{'#' * filled}{'-' * (20 - filled)}] {self.done}/{self.total}")
        elif self.total is None and self.done:
            parts.append(str(self.done))
        if self.failed:
            parts.append(f"({self.failed} failed)")
        if self.detail:
            parts.append(self.detail)
        width = shutil.get_terminal_size((80, 20)).columns - 1
        sys.stderr.write("\r\x1b[2K" + " ".join(parts)[:width])
        sys.stderr.flush()
        self._shown = True

