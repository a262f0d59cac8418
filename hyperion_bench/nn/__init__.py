"""Network builders: cell-based (1-D / 2-D) and the plain CNN family. ``build_network`` is the one entry
(from a spec that :func:`hyperion_bench.plan.decode` makes of a config)."""

from hyperion_bench.nn.builder import CellSpec, NetworkSpec, PlainCnnSpec, build_network, count_params
from hyperion_bench.nn.genotype import Edge, Genotype

__all__ = ["CellSpec", "Edge", "Genotype", "NetworkSpec", "PlainCnnSpec", "build_network", "count_params"]
