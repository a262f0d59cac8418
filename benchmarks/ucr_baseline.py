"""1-NN DTW test accuracy of a UCR/UEA suite's problem, the archive's standard baseline, computed with aeon.

``PYTHONPATH=. python benchmarks/ucr_baseline.py gesture vowels`` (needs ``pip install 'hyperion-bench[ucr]'``).

Why compute it rather than quote it: the archive's published tables are not reachable offline here, and
computing it with aeon's own classifier on the very files the suites read makes the comparison exact.
Two rows per problem:

- "archive series": 1-NN with full-window DTW (no warping constraint, aeon's default for ``dtw``) on the
  series exactly as the ``.ts`` files hold them (unequal lengths kept, aeon's DTW takes them as they
  are), the whole official train split as the reference set; the archive's "DTW (full window)" setting.
- "suite's input": the same classifier on what our networks see (the suite's padding or resampling and
  per-channel standardisation), with the suite's train + validation splits as the reference set.

Printed as a markdown table; the numbers in results/ucr/README.md come from this script.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hyperion_bench.data import _ucr, load_suite_data
from hyperion_bench.errors import run_script
from hyperion_bench.suites import load_suite


def one_nn_dtw(x_train: list[np.ndarray] | np.ndarray, y_train: np.ndarray, x_test: list[np.ndarray] | np.ndarray,
               y_test: np.ndarray) -> float:
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    knn = KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1)
    knn.fit(x_train, y_train)
    return float(np.mean(knn.predict(x_test) == y_test))


def main() -> int:
    names = sys.argv[1:] or ["gesture", "vowels"]
    print("| suite | problem | input | train | test | 1-NN DTW test accuracy | s |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        suite = load_suite(name)
        paths = _ucr.locate(suite.dataset, None, False)
        (x, y, _), (x_test, y_test, _) = (_ucr._read_ts(p) for p in paths)
        started = time.perf_counter()
        acc = one_nn_dtw(x, y, x_test, y_test)
        print(f"| {name} | {suite.dataset} | archive series | {len(x)} | {len(x_test)} | {acc:.4f} "
              f"| {time.perf_counter() - started:.1f} |", flush=True)
        data = load_suite_data(suite)
        ref_x = np.concatenate([data.x_train.numpy(), data.x_val.numpy()]).astype(np.float64)
        ref_y = np.concatenate([data.y_train.numpy(), data.y_val.numpy()])
        started = time.perf_counter()
        acc = one_nn_dtw(ref_x, ref_y, data.x_test.numpy().astype(np.float64), data.y_test.numpy())
        how = f"{suite.data_options['unequal']}, {data.in_shape[-1]} samples, standardised"
        print(f"| {name} | {suite.dataset} | suite's input ({how}) | {len(ref_y)} | {len(data.y_test)} "
              f"| {acc:.4f} | {time.perf_counter() - started:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    run_script(main)
