"""The process and the host, from psutil."""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import psutil


def system_info(instance_path: str) -> dict[str, Any]:
    """CPU, memory, threads and open files of this process, and CPU, memory, load and disk
    of the host."""
    return {"process": _process(), "host": _host(instance_path)}


_PROCESS: psutil.Process | None = None


def _this_process() -> psutil.Process:
    """This process, kept between calls: ``cpu_percent(interval=None)`` measures since the
    previous call on the same object, so a fresh object would always say 0.0."""
    global _PROCESS
    if _PROCESS is None or _PROCESS.pid != os.getpid():  # a forked worker is another process
        _PROCESS = psutil.Process(os.getpid())
        _PROCESS.cpu_percent(interval=None)
    return _PROCESS


def _process() -> dict[str, Any]:
    proc = _this_process()
    with proc.oneshot():
        memory = proc.memory_info()
        info = {
            "pid": proc.pid,
            "cpu_percent": proc.cpu_percent(interval=None),
            "cpu_times_s": round(sum(proc.cpu_times()[:2]), 3),
            "memory_rss_bytes": memory.rss,
            "memory_vms_bytes": memory.vms,
            "memory_percent": round(proc.memory_percent(), 3),
            "threads": proc.num_threads(),
            "python_threads": threading.active_count(),
            "uptime_s": round(time.time() - proc.create_time(), 1),
        }
    info["open_files"] = _safe(lambda: len(proc.open_files()))
    info["open_fds"] = _safe(proc.num_fds) if hasattr(proc, "num_fds") else None
    info["connections"] = _safe(lambda: len(proc.net_connections()))
    return info


def _host(instance_path: str) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(instance_path)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": psutil.cpu_count(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "load_average": [round(v, 2) for v in load] if load else None,
        "memory_total_bytes": memory.total,
        "memory_available_bytes": memory.available,
        "memory_percent": memory.percent,
        "disk_total_bytes": disk.total,
        "disk_free_bytes": disk.free,
        "disk_percent": disk.percent,
        "boot_time": psutil.boot_time(),
    }


def _safe(read: Any) -> Any:
    """Some counters need privileges on some systems; report None rather than fail."""
    try:
        return read()
    except (psutil.Error, OSError):
        return None
