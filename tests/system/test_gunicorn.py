"""The deployment command: gunicorn with config/gunicorn.conf.py serves the app."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.system
def test_gunicorn_serves_the_app_after_db_upgrade(tmp_path):
    from cryptography.fernet import Fernet

    port = _free_port()
    env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "2"}
    subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    boot = subprocess.run([str(BIN / "atom"), "users", "bootstrap"], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    assert "admin@localhost" in boot.stdout
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.3)
        assert page.status_code == 200 and "Sign in" in page.text
        assert requests.get(f"http://127.0.0.1:{port}/api/v2/connections", timeout=5).status_code == 401
        spec = requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5).json()
        assert "/api/v2/connections" in spec["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
