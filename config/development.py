from __future__ import annotations

from config.default import DefaultConfig


class DevelopmentConfig(DefaultConfig):
    ENV_NAME = "development"
