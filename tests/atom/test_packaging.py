"""Packaging (issue 10): building the package prints no setuptools warnings (it used to print
about 200 lines of ``Package 'atom.dashboard.static' is absent ...``) and still ships the
dashboard's templates and static files, the migrations and the plugins' data; the README's tour
pictures exist."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What setup.cfg's packages and package_data cover.
SOURCES = ("setup.py", "setup.cfg", "README.md", "atom", "plugins", "config")


def _copy_sources(to: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, to / name, ignore=ignore)
        else:
            shutil.copy2(src, to / name)


def test_building_the_package_prints_no_setuptools_warning_and_ships_the_data(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    _copy_sources(src)
    # egg_info (what `pip install -e .` runs) then build_py (where setuptools checks the
    # package data against the packages), on a copy so the work tree is untouched.
    done = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "build_py", "-d", str(out)],
                          cwd=src, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    said = [line for line in (done.stdout + done.stderr).splitlines()
            if line.strip() and "byte-compiling is disabled" not in line]  # PYTHONDONTWRITEBYTECODE
    assert not said, "\n".join(said[:40])
    for shipped in ("atom/dashboard/templates/base.html",
                    "atom/dashboard/templates/dashboard/connections/detail.html",
                    "atom/dashboard/static/atom.css",
                    "atom/dashboard/static/vendor/htmx/htmx.min.js",
                    "atom/dashboard/static/vendor/VERSIONS.md",
                    "atom/migrations/alembic.ini"):
        assert (out / shipped).is_file(), shipped
    assert list((out / "atom/migrations/versions").glob("0001_*.py"))


def test_the_readme_tour_pictures_exist_and_make_screenshots_refreshes_each():
    text = (ROOT / "README.md").read_text()
    pictures = sorted(set(re.findall(r"docs/[\w.-]+\.png", text)))
    assert len(pictures) >= 6, pictures
    for picture in pictures:
        data = (ROOT / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", picture
        width = int.from_bytes(data[16:20], "big")
        assert width in (1280, 390), (picture, width)
    tour = re.search(r"^TOUR := (.*?)\n\S", (ROOT / "Makefile").read_text(), re.M | re.S)
    assert tour, "the Makefile's TOUR list"
    made = {f"docs/dashboard-{pair.split(':')[1]}.png" for pair in tour.group(1).replace("\\", " ").split()}
    assert made == set(pictures)
    journeys = "".join(p.read_text() for p in (ROOT / "tests/e2e").glob("test_*.py"))
    for pair in tour.group(1).replace("\\", " ").split():
        assert f'"{pair.split(":")[0]}"' in journeys, f"no journey keeps {pair.split(':')[0]}.png"
