"""hyperion-bench: a fair benchmarking harness for joint HPO + NAS."""

__version__ = "0.1.0"
