"""The dashboard's assets: everything is served from this server (no CDN), each vendored
library has its version and licence beside it, and no template carries inline script or style."""
from __future__ import annotations

import re
from pathlib import Path

import atom.dashboard

ROOT = Path(atom.dashboard.__file__).parent
TEMPLATES = [*ROOT.joinpath("templates").rglob("*.html"),
             *Path(ROOT.parent.parent, "plugins").glob("*/templates/**/*.html")]
VENDOR = ROOT / "static" / "vendor"
OUTSIDE = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_no_template_loads_anything_from_another_origin():
    offenders = [f"{path.relative_to(ROOT.parent.parent)}: {m.group(0)}"
                 for path in TEMPLATES for m in OUTSIDE.finditer(path.read_text())]
    assert not offenders, offenders


def test_no_template_has_an_inline_script_handler_or_style():
    bad = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style[\s>]", re.I)
    offenders = [f"{path.name}: {m.group(0)}" for path in TEMPLATES for m in bad.finditer(path.read_text())]
    assert not offenders, offenders


def test_every_vendored_file_is_listed_with_its_version_and_licence():
    listing = (VENDOR / "VERSIONS.md").read_text()
    for library in (p for p in VENDOR.iterdir() if p.is_dir()):
        assert (library / "LICENSE").is_file(), f"{library.name} has no LICENSE"
        for file in library.iterdir():
            if file.name not in ("LICENSE", "NOTICE"):
                assert f"{library.name}/{file.name}" in listing, f"{library.name}/{file.name} is not in VERSIONS.md"
    rows = [line for line in listing.splitlines() if line.startswith("| [")]
    assert rows and all(re.search(r"\| \d+\.\d+\.\d+ \|", row) for row in rows), rows


def test_our_own_scripts_use_no_eval():
    for script in ROOT.joinpath("static").rglob("*.js"):
        if VENDOR in script.parents:
            continue
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|innerHTML\s*=\s*[^\"';]*\+", text), script.name
