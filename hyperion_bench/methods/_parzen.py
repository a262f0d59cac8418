"""Univariate Parzen estimators on the unit-cube encoding, as MOTPE (Ozaki et al., GECCO 2020) uses them.

Why a module: MO-BOHB samples each parameter on its own from l(x) (the good observations) and keeps
the candidate with the best l(x) / g(x) ratio (the bad observations), the authors' "hierarchy of
one-dimensional KDEs". What the paper leaves open is taken from their code (mobohb_utils.py), and
written here from that description:

- numeric parameters live on [0, 1] (``Param.to_unit``: log scale, integers widened by half a step);
  one truncated Gaussian per observation plus a prior component N(0.5, 1); bandwidths by the
  neighbour rule ("james"): the larger gap to a sorted neighbour, clipped to [1 / min(100, m), 1];
- choice parameters: an Aitchison-Aitken kernel per observation (``top`` on the observed choice, the
  rest spread evenly) plus a uniform component;
- every component has the same weight (the authors found recency weights hurt multi-objective runs).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf
from scipy.stats import truncnorm

_SQRT2 = np.sqrt(2.0)
_TINY = 1e-12


class NumericParzen:
    def __init__(self, samples: np.ndarray):
        mus = np.append(np.asarray(samples, dtype=float), 0.5)
        m = len(mus)
        lo_bw = 1.0 / min(100.0, m)
        order = np.argsort(mus, kind="stable")
        s = mus[order]
        padded = np.concatenate([[s[0]], s, [s[-1]]])
        gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        sig_sorted = np.clip(gaps, lo_bw, 1.0)
        sigmas = np.empty(m)
        sigmas[order] = sig_sorted
        sigmas[-1] = 1.0  # the prior component
        self.mus, self.sigmas = mus, sigmas
        self.weights = np.full(m, 1.0 / m)
        cdf = lambda x: 0.5 * (1.0 + erf((x - mus) / (_SQRT2 * sigmas)))  # noqa: E731
        self.mass = np.maximum(cdf(1.0) - cdf(0.0), _TINY)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = rng.choice(len(self.mus), size=n, p=self.weights)
        mu, sig = self.mus[idx], self.sigmas[idx]
        return truncnorm.rvs((0.0 - mu) / sig, (1.0 - mu) / sig, loc=mu, scale=sig,
                             random_state=np.random.RandomState(rng.integers(2**31)))

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)[:, None]
        z = (x - self.mus) / self.sigmas
        dens = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * self.sigmas * self.mass)
        return np.log(dens @ self.weights + _TINY)


class CategoricalParzen:
    def __init__(self, samples: np.ndarray, n_choices: int, top: float = 0.9):
        self.n = n_choices
        samples = np.asarray(samples, dtype=int)
        if n_choices == 1:
            self.pmf = np.ones(1)
            return
        kernels = np.full((len(samples), n_choices), (1.0 - top) / (n_choices - 1))
        kernels[np.arange(len(samples)), samples] = top
        rows = np.vstack([kernels, np.full((1, n_choices), 1.0 / n_choices)])
        self.pmf = rows.mean(axis=0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(self.n, size=n, p=self.pmf / self.pmf.sum())

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        return np.log(self.pmf[np.asarray(x, dtype=int)] + _TINY)


def best_of_candidates(good: NumericParzen | CategoricalParzen, bad: NumericParzen | CategoricalParzen,
                       rng: np.random.Generator, n_candidates: int) -> float:
    """Draw ``n_candidates`` from l and return the one maximising log l - log g (first on ties)."""
    cand = good.sample(rng, n_candidates)
    score = good.log_pdf(cand) - bad.log_pdf(cand)
    return float(cand[int(np.argmax(score))])
