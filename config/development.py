from __future__ import annotations

from config.default import DefaultConfig


class DevelopmentConfig(DefaultConfig):
    ENV_NAME = "development"
    # Local services (a mock on 127.0.0.1, a VM on 192.168.x) are reachable while developing.
    OUTBOUND_ALLOW_PRIVATE = True
