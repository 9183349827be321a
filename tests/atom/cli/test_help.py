"""``atom --help`` lists ATOM's commands first and Flask's, Flask-Migrate's and the extensions'
commands in a section apart; ``--app`` (ATOM builds its own app) is not advertised."""
from __future__ import annotations

from atom import __version__
from atom.cli import main

OURS = ["connections", "workflows", "executions", "alerts", "health", "test", "monitoring",
        "anomaly", "users", "keys", "plugins", "scheduler", "worker", "generate"]
THEIRS = ["db", "run", "shell", "routes"]
# Commands outside ORDER follow ATOM's own, by name (issue 11's intelligence commands).
LATER = ["optimise", "troubleshoot"]


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    names = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        if not line.startswith("   "):
            names.append(line.split()[0])
    return names


def test_help_lists_atoms_commands_first_and_flasks_apart(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    ours = _section(text, "Commands:")
    theirs = _section(text, "Server, database and extension commands")
    assert ours[:len(OURS)] == OURS
    assert set(LATER) <= set(ours[len(OURS):]) and ours[len(OURS):] == sorted(ours[len(OURS):])
    assert theirs[:4] == THEIRS and {"limiter", "openapi"} <= set(theirs)
    assert text.index("Commands:") < text.index("Server, database and extension commands")
    assert "--app" not in text and "--version" in text
    assert "atom db upgrade" in text  # how a new install starts


def test_every_atom_group_has_help_for_its_commands(runner):
    for group, commands in {"connections": ["list", "test"],
                            "executions": ["list", "show", "retry", "cancel"],
                            "alerts": ["list", "ack", "resolve"],
                            "users": ["reset-password", "bootstrap", "create", "list"],
                            "keys": ["list", "revoke", "create"],
                            "workflows": ["list", "run", "prune"]}.items():
        result = runner.invoke(main, [group, "--help"])
        assert result.exit_code == 0, result.output
        for command in commands:
            assert f"  {command}" in result.stdout, (group, command)
            sub = runner.invoke(main, [group, command, "--help"])
            assert sub.exit_code == 0 and "Usage: atom" in sub.stdout, sub.output


def test_list_commands_offer_json(runner):
    for args in (["connections", "list"], ["executions", "list"], ["alerts", "list"],
                 ["keys", "list"], ["users", "list"], ["workflows", "list"], ["plugins", "list"],
                 ["health"]):
        assert "--json" in runner.invoke(main, [*args, "--help"]).stdout, args


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"atom {__version__}"


def test_a_group_alone_shows_its_help(runner):
    result = runner.invoke(main, ["executions"])
    assert "list" in result.output and "Traceback" not in result.output
