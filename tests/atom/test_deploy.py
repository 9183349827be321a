"""deploy/: the compose file parses and runs only commands ATOM has, the systemd units have
their sections and keys, and the env example names only real settings with valid values."""
from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from atom.cli import main
from config.default import DefaultConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# Read by config/gunicorn.conf.py (not app settings).
GUNICORN_ENV = {"BIND", "WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT", "WEB_KEEPALIVE",
                "GUNICORN_LOGLEVEL",
                "PROMETHEUS_MULTIPROC_DIR"}
# Read by atom.settings before the config classes.
LOADER_ENV = {"ENV", "SETTINGS"}


def _check_command(argv: list[str]) -> None:
    """``argv`` is gunicorn with this repository's config and app, or an existing atom command
    (its ``--help`` answers)."""
    program = Path(argv[0]).name
    if program == "gunicorn":
        config = argv[argv.index("-c") + 1]
        assert (ROOT / config).is_file(), config
        module, _, attr = argv[-1].partition(":")
        assert (ROOT / f"{module}.py").is_file() and attr == "app", argv
        return
    assert program == "atom", argv
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, (argv, result.output)


@pytest.fixture(autouse=True)
def instance(monkeypatch, tmp_path):
    """The CLI builds an app: its instance folder is the test's."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    from tests.conftest import TEST_KEY

    monkeypatch.setenv("ATOM_ENCRYPTION_KEY", TEST_KEY)


def test_compose_file_parses_and_runs_atom_commands():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis", "migrate"} <= set(services)
    for name in ("web", "worker", "scheduler", "migrate"):
        service = services[name]
        assert service["env_file"] == "atom.env"
        assert (DEPLOY / service["build"]["dockerfile"].removeprefix("deploy/")).is_file()
        _check_command(service["command"])
        assert "migrate" in service["depends_on"] or name == "migrate"
    assert services["scheduler"]["deploy"]["replicas"] == 1
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert set(compose["volumes"]) >= {"postgres", "redis"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_have_their_sections_and_known_commands(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(unit.read_text())
    assert {"Unit", "Service", "Install"} <= set(parser.sections())
    assert parser["Unit"]["Description"]
    service = parser["Service"]
    for key in ("User", "WorkingDirectory", "EnvironmentFile", "ExecStart"):
        assert service.get(key), f"{unit.name}: [Service] {key}"
    assert service["EnvironmentFile"] == "/etc/atom/atom.env"
    assert parser["Install"]["WantedBy"] == "multi-user.target"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].startswith("/opt/atom/.venv/bin/")
    _check_command(argv)
    if unit.name != "atom-migrate.service":
        assert "atom-migrate.service" in parser["Unit"]["Requires"]


def test_the_target_starts_every_service():
    text = (DEPLOY / "systemd" / "atom.target").read_text()
    wants = re.search(r"^Wants=(.*)$", text, re.MULTILINE).group(1).split()
    for name in wants:
        assert (DEPLOY / "systemd" / re.sub(r"@[^.]+", "@", name)).is_file(), name


def _example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "atom.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_env_example_names_only_real_settings():
    for name in _example():
        assert name.startswith("ATOM_"), name
        setting = name.removeprefix("ATOM_")
        assert (hasattr(DefaultConfig, setting) or setting in GUNICORN_ENV
                or setting in LOADER_ENV), f"{name} is no setting"
    gunicorn_conf = (ROOT / "config" / "gunicorn.conf.py").read_text()
    for setting in GUNICORN_ENV:
        assert f'"ATOM_{setting}"' in gunicorn_conf, setting
    for required in ("ATOM_ENV", "ATOM_SECRET_KEY", "ATOM_ENCRYPTION_KEY",
                     "ATOM_SQLALCHEMY_DATABASE_URI", "ATOM_REDIS_URL", "ATOM_EXECUTOR",
                     "ATOM_BROKER_URL", "ATOM_SCHEDULER_ENABLED", "ATOM_PROMETHEUS_MULTIPROC_DIR"):
        assert required in _example(), required


def test_env_example_values_load(monkeypatch):
    """The example, with its CHANGE_MEs filled in, builds a production app."""
    import secrets

    from cryptography.fernet import Fernet

    from atom import create_app

    fill = {"ATOM_SECRET_KEY": secrets.token_hex(32),
            "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    for name, value in _example().items():
        monkeypatch.setenv(name, fill.get(name, value.replace("CHANGE_ME", "secret")))
    app = create_app()
    assert app.config["ENV_NAME"] == "production"
    assert app.config["REDIS_URL"] == "redis://redis:6379/0"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 5
    assert app.config["SCHEDULER_ENABLED"] is False
