"""Monitoring: health checks on a schedule, metrics, health scores, alerts, anomaly detection.

``checks`` runs a round (``run_round``), ``metrics`` and ``score`` turn samples and call
records into figures, ``alerts`` and ``notify`` raise and deliver alerts, ``rollup`` keeps the
database bounded, ``prometheus`` serves ``/metrics``, ``anomaly`` is the streaming detector.
Importing this package does nothing.
"""
