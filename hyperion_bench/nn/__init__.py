"""Network builders: cell-based (1-D / 2-D) and the plain CNN family. ``build_network`` is the one entry."""

from hyperion_bench.nn.builder import build_network, count_params
from hyperion_bench.nn.genotype import Edge, Genotype

__all__ = ["Edge", "Genotype", "build_network", "count_params"]
