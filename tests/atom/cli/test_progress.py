"""Long work shows a live count on stderr when it is a terminal, and nothing when it is not:
``atom test``, ``atom anomaly scan`` (``atom connections test`` and ``atom workflows run`` are
tested with their commands)."""
from __future__ import annotations

import json

from atom.cli.base import Live
from tests.fakes import reply


def _series(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        rows = ["timestamp,value"] + [f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{100 + i % 5}"
                                      for i in range(120)]
        (folder / f"s{n}.csv").write_text("\n".join(rows) + "\n")


def test_atom_test_counts_the_connections_on_a_terminal(atom, create_connection, fake, tmp_path, tty):
    fake.always("/down", reply(500, {}))
    fake.always("/status", reply(404, {}))
    for path in ("/health", "/down"):
        create_connection("http", {"base_url": fake.url, "health_path": path, "max_attempts": 1})
    tty("stderr")
    result = atom("test", "--json", tmp_path / "r.json")
    assert result.exit_code == 1, result.output
    assert "testing connections [" in result.stderr and "2/2" in result.stderr
    assert "(1 failed)" in result.stderr and result.stderr.endswith("\r\x1b[2K")
    assert "2 connection(s): 1 health check(s) passed, 1 failed" in result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["connections"] == 2


def test_atom_test_says_nothing_on_stderr_when_it_is_not_a_terminal(atom, conn, tmp_path):
    result = atom("test", "--html", tmp_path / "r.html")
    assert result.stderr == ""
    assert (tmp_path / "r.html").read_text().startswith("<!")


def test_anomaly_scan_counts_the_files_on_a_terminal(atom, tmp_path, tty):
    _series(tmp_path / "in" / "sub", 3)
    tty("stderr")
    result = atom("anomaly", "scan", "--input", tmp_path / "in", "--output", tmp_path / "out.json")
    assert result.exit_code == 0, result.output
    assert "scanning [" in result.stderr and "3/3" in result.stderr and "sub/s2.csv" in result.stderr
    assert sorted(json.loads((tmp_path / "out.json").read_text())) == \
        ["sub/s0.csv", "sub/s1.csv", "sub/s2.csv"]
    assert result.stdout.startswith("scanned 3 file(s)")


def test_the_live_line_is_off_without_a_terminal(capsys):
    with Live("work", total=2) as live:
        live.advance("a")
        live.echo("a line")
    captured = capsys.readouterr()
    assert captured.out == "a line\n" and captured.err == ""
