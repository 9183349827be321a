"""Configuration layers: class, instance file, ATOM_* environment, product names, test mapping."""
from __future__ import annotations

import logging

import pytest

from atom import create_app
from atom.settings import ConfigError


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst"))
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db", "SECRET_KEY": "k"}


def test_environment_overrides_the_class_and_test_config_overrides_both(base, monkeypatch):
    monkeypatch.setenv("ATOM_HTTP_READ_TIMEOUT_S", "12.5")
    monkeypatch.setenv("ATOM_WORKER_THREADS", "3")
    monkeypatch.setenv("RESPONSE_TIME_WARNING_MS", "750")
    app = create_app({**base, "WORKER_THREADS": 5})
    assert app.config["HTTP_READ_TIMEOUT_S"] == 12.5
    assert app.config["RESPONSE_TIME_WARNING_MS"] == 750
    assert app.config["WORKER_THREADS"] == 5


def test_the_instance_file_is_a_layer(base, tmp_path):
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "atom.cfg").write_text("HEALTH_SCORE_WARNING = 85\n")
    assert create_app(base).config["HEALTH_SCORE_WARNING"] == 85


def test_a_malformed_number_names_the_setting(base, monkeypatch):
    monkeypatch.setenv("ATOM_WORKER_THREADS", "many")
    with pytest.raises(ConfigError, match="WORKER_THREADS"):
        create_app(base)


def test_development_generates_an_encryption_key_with_a_warning(base, tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("ATOM_ENCRYPTION_KEY", raising=False)
    caplog.set_level(logging.WARNING)
    create_app(base)
    assert (tmp_path / "inst" / "encryption.key").exists()
    assert "No ATOM_ENCRYPTION_KEY" in caplog.text
    before = (tmp_path / "inst" / "encryption.key").read_text()
    create_app(base)
    assert (tmp_path / "inst" / "encryption.key").read_text() == before


def test_an_invalid_encryption_key_is_a_clear_error(base):
    with pytest.raises(ConfigError, match="Fernet"):
        create_app({**base, "ENCRYPTION_KEY": "not-a-key"})


def test_importing_atom_does_nothing():
    import subprocess
    import sys

    code = ("import sys, atom; "
            "assert 'flask_sqlalchemy' not in sys.modules and 'plugins' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_passwords_are_hashed_with_scrypt_outside_the_tests(app_factory):
    """Production and development hash with scrypt; only the test settings use a cheap method
    (and a stored hash of either kind still checks)."""
    from config.default import DefaultConfig

    from atom.models import User

    assert DefaultConfig.PASSWORD_HASH_METHOD == "scrypt"
    app = app_factory(PASSWORD_HASH_METHOD="scrypt")
    with app.app_context():
        user = User(email="s@example.com", role="viewer")
        user.set_password("a long enough password")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("a long enough password")


def test_the_intelligence_switches_and_models_config_are_read_as_the_documents_write_them(
        base, monkeypatch):
    monkeypatch.setenv("AI_WORKFLOW_ENABLED", "false")
    monkeypatch.setenv("AI_MODELS_CONFIG", '{"auto_apply_threshold": 0.95}')
    config = create_app(base).config
    assert config["AI_WORKFLOW_ENABLED"] is False
    assert config["WORKFLOW_OPTIMIZATION_ENABLED"] is True
    # The keys given are merged over the defaults.
    assert config["AI_MODELS_CONFIG"] == {"confidence_threshold": 0.85, "auto_apply_threshold": 0.95,
                                          "retrain_interval_s": 604800, "min_history": 20}


@pytest.mark.parametrize("name, raw, named", [
    ("ATOM_ENHANCED_MONITORING_ENABLED", "maybe", "ENHANCED_MONITORING_ENABLED"),
    ("AI_MODELS_CONFIG", '{"confidence": 0.5}', "'confidence'"),
    ("AI_MODELS_CONFIG", '{"auto_apply_threshold": 1.5}', "auto_apply_threshold"),
    ("AI_MODELS_CONFIG", '{"retrain_interval_s": 0}', "retrain_interval_s"),
    ("AI_MODELS_CONFIG", "[1, 2]", "AI_MODELS_CONFIG"),
])
def test_a_malformed_intelligence_setting_names_itself(base, monkeypatch, name, raw, named):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=named):
        create_app(base)


@pytest.mark.parametrize("name, raw, named", [
    ("ATOM_ALERT_GROUP_BY", "integration,planet", "'planet' in ALERT_GROUP_BY"),
    ("ATOM_ALERT_GROUP_BY", '{"integration": 1}', "ALERT_GROUP_BY"),
    ("ATOM_ALERT_GROUP_WAIT_S", "-1", "ALERT_GROUP_WAIT_S"),
    ("ATOM_ALERT_NOTIFY_TICK_S", "0", "ALERT_NOTIFY_TICK_S"),
    ("ATOM_HOST_DOWN_MIN_CONNECTIONS", "0", "HOST_DOWN_MIN_CONNECTIONS"),
    ("ATOM_STATUS_PAGE_ENABLED", "sometimes", "STATUS_PAGE_ENABLED"),
    ("ATOM_STATUS_PAGE_TITLE", '""', "STATUS_PAGE_TITLE"),
    ("ATOM_STATUS_PAGE_CACHE_S", "-5", "STATUS_PAGE_CACHE_S"),
    ("ATOM_ANOMALY_MIN_INCREASE_MS", "-1", "ANOMALY_MIN_INCREASE_MS"),
    ("ATOM_ANOMALY_MIN_INCREASE_RATIO", "0.5", "ANOMALY_MIN_INCREASE_RATIO"),
])
def test_a_malformed_alerting_setting_names_itself(base, monkeypatch, name, raw, named):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=named):
        create_app(base)


def test_alert_grouping_is_read_from_a_comma_separated_list(base, monkeypatch):
    monkeypatch.setenv("ATOM_ALERT_GROUP_BY", "integration, rule")
    assert create_app(base).config["ALERT_GROUP_BY"] == ["integration", "rule"]
