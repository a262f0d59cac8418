"""What machine a figure was measured on, in words a reader can check.

Why a module of its own: every published figure names its hardware, and the benchmark scripts that
run on a bare GPU machine (torch and pandas only) must be able to say it without importing the runner
(which needs syne-tune).
"""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name and logical CPU count from /proc/cpuinfo (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} ({len(names)} logical CPUs)"
    except (OSError, IndexError):
        return f"{platform.machine()} CPU"
