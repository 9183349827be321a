"""Integration plugins shipped with ATOM, one package per service."""
