"""Hyperband / successive halving over epoch budgets, with multi-objective promotion.

Why a module: MO-BOHB runs Hyperband brackets and MO-BANANAS successive halving; both follow the
authors' HpBandSter-based code, so the schedule is written once here:

- budgets (HpBandSter): ``s_max = floor(log_eta(max / min))``, budgets ``max * eta^-i`` for
  ``i = s_max .. 0``, rounded to whole epochs (duplicates dropped after rounding);
- bracket ``s`` (``s_max, s_max - 1, ..., 0``, then again): ``n0 = floor((s_max + 1) / (s + 1)) * eta^s``
  configs at its first budget, ``floor(n0 * eta^-i)`` (at least 1) kept at rung ``i``;
- promotion: :func:`_mo_select.select_best` (non-dominated rank, hypervolume tie-breaks); a failed
  evaluation is never promoted;
- every rung evaluation is a new trial trained from scratch for the rung's epochs (no STOP, see
  ``optimizer``); a new bracket starts while the running ones wait for results (HpBandSter does the
  same), so parallel workers stay busy.

Configurations for a bracket's first rung are drawn lazily, one per ask, from ``sample(budget)``, so
later draws see earlier results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion_bench.methods._mo_select import select_best


def hb_budgets(min_epochs: int, max_epochs: int, eta: float) -> list[int]:
    """Epoch budgets, ascending, ``max_epochs`` last."""
    assert 1 <= min_epochs <= max_epochs and eta > 1, (min_epochs, max_epochs, eta)
    s_max = int(math.floor(math.log(max_epochs / min_epochs) / math.log(eta) + 1e-9))
    raw = [max_epochs * eta ** (-i) for i in range(s_max, -1, -1)]
    out: list[int] = []
    for b in raw:
        e = int(min(max(round(b), min_epochs), max_epochs))
        if not out or e > out[-1]:
            out.append(e)
    return out


def bracket_sizes(s: int, s_max: int, eta: float) -> list[int]:
    """Configs per rung of bracket ``s`` (HpBandSter's formula)."""
    n0 = int(math.floor((s_max + 1) / (s + 1)) * eta**s)
    return [max(int(n0 * eta ** (-i)), 1) for i in range(s + 1)]


@dataclass
class Member:
    config: dict[str, Any]
    key: int | None = None  # the suggestion key of its evaluation at the current rung
    objectives: np.ndarray | None = None
    told: bool = False


class Bracket:
    """One successive-halving bracket: its rungs' budgets and sizes, and who is on the current rung."""

    def __init__(self, budgets: list[int], sizes: list[int]):
        assert len(budgets) == len(sizes) >= 1
        self.budgets, self.sizes = budgets, sizes
        self.rung = 0
        self.members: list[Member] = []
        self.finished = False

    @property
    def budget(self) -> int:
        return self.budgets[self.rung]

    def rung_complete(self) -> bool:
        full = self.rung > 0 or len(self.members) >= self.sizes[0]
        return full and all(m.told for m in self.members)

    def promote(self) -> None:
        """Keep the best ``sizes[rung + 1]`` successful members for the next budget, or finish."""
        ok = [m for m in self.members if m.objectives is not None]
        if self.rung + 1 >= len(self.budgets) or not ok:
            self.finished = True
            return
        points = np.vstack([m.objectives for m in ok])
        keep = select_best(points, self.sizes[self.rung + 1])
        self.rung += 1
        self.members = [Member(config=dict(ok[i].config)) for i in keep]


class Hyperband:
    """Hands out (config, epochs) evaluations bracket after bracket; ``tell`` results by key."""

    def __init__(self, min_epochs: int, max_epochs: int, eta: float,
                 sample: Callable[[int], dict[str, Any]], brackets: str = "hyperband"):
        self.budgets = hb_budgets(min_epochs, max_epochs, eta)
        self.s_max = len(self.budgets) - 1
        self.eta, self.sample = eta, sample
        assert brackets in ("hyperband", "successive_halving"), brackets
        self.mode = brackets  # successive_halving: always the most aggressive bracket (s = s_max)
        self.n_brackets = 0
        self.active: list[Bracket] = []
        self.by_key: dict[int, tuple[Bracket, Member]] = {}

    def _new_bracket(self) -> Bracket:
        s = self.s_max - (self.n_brackets % (self.s_max + 1)) if self.mode == "hyperband" else self.s_max
        sizes = bracket_sizes(s, self.s_max, self.eta)
        bracket = Bracket(self.budgets[self.s_max - s:], sizes)
        self.n_brackets += 1
        self.active.append(bracket)
        return bracket

    def ask(self, key: int) -> tuple[dict[str, Any], int] | None:
        """(config, epochs) for evaluation ``key``; None when every running bracket waits and a new one
        cannot start (never: one always can; None is kept for the contract)."""
        for bracket in list(self.active):
            if bracket.rung_complete():
                bracket.promote()
            if bracket.finished:
                self.active.remove(bracket)
                continue
            job = self._job(bracket, key)
            if job is not None:
                return job
        return self._job(self._new_bracket(), key)

    def _job(self, bracket: Bracket, key: int) -> tuple[dict[str, Any], int] | None:
        member = next((m for m in bracket.members if m.key is None), None)
        if member is None and bracket.rung == 0 and len(bracket.members) < bracket.sizes[0]:
            member = Member(config=self.sample(bracket.budget))
            bracket.members.append(member)
        if member is None:
            return None
        member.key = key
        self.by_key[key] = (bracket, member)
        return member.config, bracket.budget

    def tell(self, key: int, objectives: np.ndarray | None) -> int | None:
        """Record a result; returns its budget (None for an unknown key)."""
        entry = self.by_key.pop(key, None)
        if entry is None:
            return None
        bracket, member = entry
        member.objectives = None if objectives is None else np.asarray(objectives, dtype=float)
        member.told = True
        return bracket.budget
