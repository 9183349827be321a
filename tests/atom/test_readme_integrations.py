"""The README's integration table is generated from the manifests and kept current."""
from __future__ import annotations

from pathlib import Path

from atom.cli import main
from atom.integrations import docs
from atom.state import get_state

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_installed_integration_as_its_manifest_says(app):
    manifests = [p.manifest for p in get_state(app).registry.loaded() if p.manifest]
    text = README.read_text()
    assert docs.render(text, manifests) == text, \
        "README.md is stale: run `atom plugins docs --write README.md`"
    for manifest in manifests:
        assert f"(`{manifest.slug}`)" in text


def test_the_table_shows_auth_actions_poll_triggers_and_the_contract(app):
    slack = get_state(app).registry.get("slack").manifest
    row = next(line for line in docs.table([slack]).splitlines() if "`slack`" in line)
    assert "`Authorization: Bearer <token>` or OAuth2" in row
    assert "send_message" in row and "message_posted" in row and "openapi `slack.json`" in row


def test_the_cli_rewrites_only_the_generated_block(app, runner, tmp_path):
    target = tmp_path / "README.md"
    target.write_text(f"# Title\n\nintro\n\n{docs.START}\nstale table\n{docs.END}\n\n## After\n")
    result = runner.invoke(main, args=["plugins", "docs", "--write", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("# Title\n\nintro\n") and text.endswith("\n## After\n")
    assert "stale table" not in text and "`jira`" in text
    again = runner.invoke(main, args=["plugins", "docs", "--write", str(target)])
    assert "already current" in again.output
