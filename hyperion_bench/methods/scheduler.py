"""ONE Syne Tune scheduler that runs any :class:`~hyperion_bench.methods.optimizer.Optimizer`, single- or
multi-objective: the bookkeeping every method shares, written once.

Why: the methods are decision procedures behind the optimiser protocol; what a Syne Tune scheduler adds
(suggestion keys, trial ids, outstanding results, exact trial counts, failures told once, waiting,
history) is the same for all of them. Until issue 19 it was kept twice, by a single-objective and a
multi-objective base.

- Suggestions are numbered 0, 1, 2, ... (*keys*) in the order they were made; the Tuner calls
  ``on_trial_add`` right after each ``suggest``, which maps its trial id to the key, so several pending
  trials can finish in any order.
- After ``max_trials`` suggestions nothing more is suggested (Syne Tune's ``max_num_trials_started=N``
  would start N+1).
- A trial ends exactly once: a completion, or an error (told as a failure); a second or unknown one is
  logged and ignored. A completion whose objectives are missing or not finite is told as a failure.
- The objectives are ``metrics`` (the suite's weighted sum, or its Pareto metrics), all minimised; only a
  trial's final report counts (no scheduler of ours stops a trial).
- **Multi-fidelity without STOP**: every evaluation, including each rung of successive halving, is a new
  trial trained from scratch for ``Suggestion.epochs`` epochs (passed as ``hb_epochs``), as the
  bag-of-baselines authors' HpBandSter-based code does. A scheduler never stops a trial, so Syne Tune's
  trap (a trial it stops never reaches ``on_trial_complete``) cannot lose a result. Each trial's epochs
  appear in ``trials.csv`` as ``budget_epochs``; ``Suggestion.meta`` values travel as ``hb_<key>``.
- The harness's pass-through constants are merged into each config after the optimiser has spoken, so
  no optimiser ever sees them, and none may shadow a searched parameter.
- **Waiting**: ``ask`` may return None while results are outstanding; ``ready_to_suggest`` tells the
  harness's Tuner to sleep and ask again (Syne Tune would otherwise read None as "exhausted"). ``ask``
  is then called again with the same key.
- With a history log attached (:meth:`OptimizerScheduler.attach_history`, the runner does it), every ask
  and tell is appended to ``history.jsonl``, and :meth:`OptimizerScheduler.replay` brings a fresh
  scheduler back to where an interrupted one was (:mod:`hyperion_bench.history`); the suggestions that
  were still running are handed out again first, under their old keys.
"""

from __future__ import annotations

import logging
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion

from hyperion_bench.history import CannotReplay, HistoryLog, jsonable, same_config
from hyperion_bench.methods.optimizer import Context, Optimizer, Suggestion, objective_vector
from hyperion_bench.protocol import EPOCHS_KEY, PREFIX, key
from hyperion_bench.suites import Suite

__all__ = ["CannotReplay", "OptimizerScheduler"]

logger = logging.getLogger(__name__)


class OptimizerScheduler(TrialScheduler):
    """Runs ``optimizer`` minimising ``metrics`` (see the module docstring)."""

    def __init__(self, optimizer: Optimizer, *, metrics: list[str], seed: int, max_trials: int | None,
                 constants: dict[str, Any]):
        super().__init__(random_seed=seed)
        assert len(metrics) == optimizer.n_objectives, (metrics, optimizer.n_objectives)
        shadowed = sorted(set(constants) & set(optimizer.space.names))
        assert not shadowed, f"constants would overwrite searched parameters: {shadowed}"
        assert max_trials is None or max_trials >= 0, max_trials
        self.optimizer, self.space, self.names = optimizer, optimizer.space, list(metrics)
        self.seed, self.max_trials, self.constants = seed, max_trials, dict(constants)
        self.n_suggested = 0
        self.n_failed = 0
        self._next: Suggestion | None = None  # asked ahead by ready_to_suggest
        self._unadded: int | None = None  # the key suggested last, until the Tuner adds its trial
        self._keys: dict[int, int] = {}  # Syne Tune trial id -> our key
        self._pending: set[int] = set()  # keys suggested and not yet told
        self._configs: dict[int, dict[str, Any]] = {}  # key -> its config (without the constants), while pending
        self._rerun: list[int] = []  # keys to hand out again (running when an earlier attempt was killed)
        self._history: HistoryLog | None = None
        self._trial_offset = 0  # trial ids of this segment start here (ids of earlier segments come before)
        self._rerunning: int | None = None
        self._late_tells: list[int] = []  # keys replay told from their rows (see replay)

    @classmethod
    def for_suite(cls, optimizer_cls: type[Optimizer], *, suite: Suite, seed: int, max_trials: int | None,
                  constants: dict[str, Any], settings: dict[str, Any], context: Context | None = None,
                  multi_objective: bool = True) -> OptimizerScheduler:
        """A multi-objective method (``optimizer_cls`` with the suite's Pareto metrics and ``settings``) or,
        with ``multi_objective=False``, a single-objective one (the weighted sum, ``settings`` as its
        options), on ``suite``."""
        if multi_objective:
            names = list(suite.objectives.pareto)
            if context is None:
                context = Context.for_suite(suite, max_trials, constants.get(key("data_dir")) or None,
                                            wallclock_s=constants.get(key("wallclock_s")) or None,
                                            folder=constants.get(key("folder")) or None)
            optimizer = optimizer_cls(space=suite.space, n_objectives=len(names), seed=seed,
                                      min_epochs=suite.min_epochs, max_epochs=suite.max_epochs, settings=settings,
                                      context=context)
        else:
            names = ["weighted_sum"]
            if context is None:
                context = Context(max_trials=max_trials, suite=suite,
                                  wallclock_s=constants.get(key("wallclock_s")) or None,
                                  folder=constants.get(key("folder")) or None)
            optimizer = optimizer_cls(space=suite.space, seed=seed, settings=settings, context=context)
        return cls(optimizer, metrics=names, seed=seed, max_trials=max_trials, constants=constants)

    def _next_config(self) -> dict[str, Any] | None:
        """The config of suggestion ``self.n_suggested`` (searched values and per-trial ``hb_`` meta, no
        run constants), or None when there is nothing to suggest."""
        suggestion, self._next = self._next, None
        if suggestion is None:
            suggestion = self.optimizer.ask(self.n_suggested)
        if suggestion is None:
            return None
        config = self.optimizer.finalise(suggestion.config)
        extra = {f"{PREFIX}{k}": v for k, v in suggestion.meta.items()}
        if suggestion.epochs is not None:
            epochs = int(suggestion.epochs)
            assert self.optimizer.min_epochs <= epochs <= self.optimizer.max_epochs, epochs
            extra[EPOCHS_KEY] = epochs
        clash = sorted(set(extra) & set(self.constants))
        assert not clash, f"suggestion meta would overwrite harness constants: {clash}"
        return {**config, **extra}

    def _told(self, key: int, result: dict[str, Any] | None) -> bool:
        """Tell the optimiser how suggestion ``key`` ended: its final report, or None for an error.
        Returns whether the trial counts as failed."""
        values = None if result is None else objective_vector(result, self.names)
        self.optimizer.tell(key, values, dict(result or {}))
        return values is None

    # ---- the harness's Tuner asks this before suggest (tuner.HarnessTuner)
    def ready_to_suggest(self) -> bool:
        if self._rerun or self._exhausted() or self._next is not None:
            return True
        self._next = self.optimizer.ask(self.n_suggested)
        return self._next is not None or not self._pending

    def _exhausted(self) -> bool:
        return self.max_trials is not None and self.n_suggested >= self.max_trials

    def suggest(self) -> TrialSuggestion | None:
        if self._rerun:  # a resumed run: the trials that were running at the interruption, first
            key = self._rerun.pop(0)
            self._unadded, self._rerunning = key, key
            return TrialSuggestion.start_suggestion({**self._configs[key], **self.constants})
        if self._exhausted():
            return None
        config = self._next_config()
        return None if config is None else self._start(config)

    def _start(self, config: dict[str, Any]) -> TrialSuggestion:
        """Record the next key as suggested and hand the Tuner ``config`` with the constants merged in."""
        key = self.n_suggested
        self.n_suggested += 1
        self._pending.add(key)
        self._configs[key] = config
        self._unadded = key
        return TrialSuggestion.start_suggestion({**config, **self.constants})

    def on_trial_add(self, trial: Trial) -> None:
        assert self._unadded is not None, f"trial {trial.trial_id} added without a suggestion"
        key = self._unadded
        self._keys[trial.trial_id] = key
        self._unadded = None
        if self._history is not None:
            event = {"ask": key, "trial_id": self._trial_offset + trial.trial_id, "config": self._configs[key]}
            if self._rerunning == key:
                event["rerun"] = True
            self._history.append(event)
        self._rerunning = None

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        return SchedulerDecision.CONTINUE  # only the final value counts, and a trial always runs its epochs

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self._finish(trial.trial_id, result)

    def on_trial_error(self, trial: Trial) -> None:
        self._finish(trial.trial_id, None)

    def _finish(self, trial_id: int, result: dict[str, Any] | None) -> None:
        key = self._keys.get(trial_id)
        if key is None or key not in self._pending:  # never added, or told already
            logger.warning("ignoring a second or unknown completion of trial %s", trial_id)
            return
        self._pending.discard(key)
        self._configs.pop(key, None)
        self.n_failed += self._told(key, result)
        if self._history is not None:
            self._history.append({"tell": key, "error": result is None})

    # ---- history and replay (trial-level resume, issue 14)
    def attach_history(self, log: HistoryLog, trial_offset: int = 0) -> None:
        """Append every ask and tell to ``log``; this segment's Syne Tune trial ids are shifted by
        ``trial_offset`` (the ids of earlier segments' trials come first)."""
        self._history, self._trial_offset = log, trial_offset
        for late in self._late_tells:  # told by replay from a row whose tell the kill had cut off
            log.append({"tell": late, "error": True})
        self._late_tells = []

    def _cannot_replay(self) -> str:
        """Why this method cannot be replayed at all ("" = it can)."""
        return self.optimizer.cannot_replay

    def close_history(self) -> None:
        if self._history is not None:
            self._history.close()

    def replay(self, events: list[dict[str, Any]], results: dict[int, dict[str, Any] | None]) -> list[int]:
        """Bring this fresh scheduler to where the one that wrote ``events`` was: each ask is asked again
        (and must give the config it gave then), each tell told again, in their original order.
        ``results`` maps a trial id to its final report (None: the trial failed); a told trial whose
        result is not there (its row was lost with the process) is run again, like those that were still
        running. Returns the keys to run again, which :meth:`suggest` hands out first. Raises
        :class:`CannotReplay` when a replayed ask differs."""
        assert self.n_suggested == 0 and not self._pending, "replay into a fresh scheduler only"
        if self._cannot_replay():
            raise CannotReplay(self._cannot_replay())
        trial_of: dict[int, int] = {}
        for event in events:
            if "ask" in event:
                key = int(event["ask"])
                trial_of[key] = int(event["trial_id"])
                if event.get("rerun"):
                    continue
                if key != self.n_suggested:
                    raise CannotReplay(f"the history asks for suggestion {key} where {self.n_suggested} is next")
                config = None if self._exhausted() else self._next_config()
                if config is None or not same_config(config, event["config"]):
                    raise CannotReplay(f"suggestion {key} comes out different when asked again "
                                       f"(the method's choices do not depend on its seed and history alone)")
                self._start(config)
                self._unadded = None
            elif "tell" in event:
                key = int(event["tell"])
                trial_id = trial_of.get(key)
                if key not in self._pending or trial_id is None or trial_id not in results:
                    continue  # its row is missing: it runs again
                self._pending.discard(key)
                self._configs.pop(key, None)
                self.n_failed += self._told(key, None if event.get("error") else results[trial_id])
        # a failed trial's row is written before its tell (Syne Tune's order): a kill in between leaves a row
        # and no tell. The row is the truth: tell it now (the original run told it at this very point, the
        # kill came next) and log that tell once the history is attached, so later replays see it here too
        self._late_tells = [k for k in sorted(self._pending) if trial_of.get(k) in results]
        for key in self._late_tells:
            self._pending.discard(key)
            self._configs.pop(key, None)
            self.n_failed += self._told(key, None)
        self._rerun = sorted(self._pending)
        return list(self._rerun)

    def metric_names(self) -> list[str]:
        return list(self.names)

    def metric_mode(self) -> str:
        return "min"

    def metadata(self) -> dict[str, Any]:
        """What the Tuner writes to its metadata.json (JSON only: Syne Tune's default dumps ``__dict__``,
        which holds library objects). ``metric_names`` and ``metric_mode`` are what Syne Tune's
        ``load_experiment(...).best_config()`` reads back."""
        return {"scheduler_name": type(self).__name__, "metric_names": self.metric_names(),
                "metric_mode": self.metric_mode(), "seed": self.seed, "max_trials": self.max_trials,
                "optimizer": type(self.optimizer).__name__, "metrics": self.names,
                "settings": jsonable(self.optimizer.settings), "optimizer_state": jsonable(self.optimizer.metadata())}
