"""Settings classes, one per environment; ``ATOM_ENV`` picks one (default ``development``)."""
from __future__ import annotations

from config.default import DefaultConfig
from config.development import DevelopmentConfig
from config.production import ProductionConfig
from config.testing import TestingConfig

CONFIGS = {
    "default": DefaultConfig,
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
