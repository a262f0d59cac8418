"""Study files (``benchmarks/studies/<name>.toml``): suites x methods x seeds x budget, run and reported.

Why: a published comparison is many ``run`` commands plus a ``report``, and the exact list of them is
what a reader needs to repeat it. A study file names it once: the suites, the methods, the seeds, the
budget per (method, seed) (with per-suite overrides) and the methods' options. ``study FILE`` runs
what is missing (the runner skips a (suite, method, seed) that has ``done.json`` and sets an
unfinished one aside) and then writes the report with the statistics of ``stats.py``.

Validation is as strict as a suite's: an unknown key, suite or method, a method that cannot run on a
suite, a missing or impossible budget is one line naming the file and the key (exit 2), before any
run starts. A finished run recorded under another budget than the study now asks is refused rather
than silently mixed into the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperion_bench.errors import UserError
from hyperion_bench.method_settings import check_overrides, has_baseline, with_outer
from hyperion_bench.registry import METHODS, outer_kinds
from hyperion_bench.suites import Suite, load_suite, parse_duration
from hyperion_bench.tomlfile import TomlReader, named_file, read_toml

STUDIES_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "studies"
TOP_KEYS = {"study", "budget", "suites", "options"}
STUDY_KEYS = {"name", "description", "suites", "methods", "seeds", "reference", "outer", "workers", "device"}
BUDGET_KEYS = {"wallclock", "max_trials"}
SUITE_KEYS = BUDGET_KEYS | {"methods", "seeds"}
ONESHOT_METHODS = ("darts", "hyperdarts", "hyperion")


@dataclass(frozen=True)
class SuitePlan:
    """What the study runs on one suite."""

    suite: Suite
    methods: list[str]
    seeds: list[int]
    wallclock_s: float | None
    max_trials: int | None


@dataclass
class Study:
    name: str
    path: Path
    description: str
    plans: list[SuitePlan]
    reference: str
    outer: str | None = None
    workers: int = 1
    device: str = "auto"
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return sorted({m for p in self.plans for m in p.methods})


def list_studies() -> list[str]:
    return sorted(p.stem for p in STUDIES_DIR.glob("*.toml"))


def load_study(name_or_path: str | Path) -> Study:
    """A study by path, or by name (``benchmarks/studies/<name>.toml``); every problem is a UserError."""
    path = named_file(name_or_path, STUDIES_DIR, "study", "studies")
    return _Reader(path, read_toml(path, "study file")).study()


class _Reader(TomlReader):
    def table(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        for k in value:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def names(self, value: Any, key: str) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a non-empty list of names")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a name twice")
        return list(value)

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(key, f"must be a whole number >= 1, got {value!r}")
        return value

    def budget(self, table: dict[str, Any], key: str) -> tuple[float | None, int | None]:
        wallclock = None
        if "wallclock" in table:
            if isinstance(table["wallclock"], bool):
                raise self.fail(f"{key}.wallclock", "must be a duration like 90s, 5m, 2h")
            try:
                wallclock = parse_duration(table["wallclock"], "wallclock")
            except UserError as exc:
                raise self.fail(f"{key}.wallclock", str(exc).removeprefix("wallclock: ")) from None
        trials = self.positive_int(table["max_trials"], f"{key}.max_trials") if "max_trials" in table else None
        return wallclock, trials

    def study(self) -> Study:
        raw = self.table(self.raw, "", TOP_KEYS)
        head = self.table(raw.get("study", {}), "study", STUDY_KEYS)
        for k in ("suites", "methods", "seeds"):
            if k not in head:
                raise self.fail(f"study.{k}", "missing")
        suites = self.names(head["suites"], "study.suites")
        methods = self.names(head["methods"], "study.methods")
        for m in methods:
            if m not in METHODS:
                raise self.fail("study.methods", f"unknown method {m!r} (known: {', '.join(sorted(METHODS))})")
        seeds = self.positive_int(head["seeds"], "study.seeds")
        for k in ("name", "description", "reference", "outer", "device"):
            if k in head and not isinstance(head[k], str):
                raise self.fail(f"study.{k}", "must be a string")
        outer = head.get("outer")  # short for [options.hyperion] outer; None: baselines/hyperion.toml's
        if outer is not None and outer not in outer_kinds():
            raise self.fail("study.outer", f"unknown outer optimiser {outer!r} ({', '.join(outer_kinds())})")
        device = head.get("device", "auto")
        if device not in ("auto", "cpu", "cuda"):
            raise self.fail("study.device", f"must be auto, cpu or cuda, got {device!r}")
        workers = self.positive_int(head.get("workers", 1), "study.workers")
        wallclock, max_trials = self.budget(self.table(raw.get("budget", {}), "budget", BUDGET_KEYS), "budget")

        loaded = {}
        for name in suites:  # a name in benchmarks/, or a path relative to the study file
            try:
                loaded[name] = load_suite(self.path.parent / name if name.endswith(".toml") else name)
            except UserError as exc:
                raise self.fail("study.suites", str(exc)) from None
        # per-suite tables are keyed by the name as listed or by the suite's own name
        overrides = self.table(raw.get("suites", {}), "suites", set(suites) | {s.name for s in loaded.values()})
        plans = []
        for name, suite in loaded.items():
            over = self.table(overrides.get(name, overrides.get(suite.name, {})), f"suites.{suite.name}", SUITE_KEYS)
            s_methods = self.names(over["methods"], f"suites.{suite.name}.methods") if "methods" in over else methods
            for m in s_methods:
                if m not in methods:
                    raise self.fail(f"suites.{suite.name}.methods", f"{m!r} is not among study.methods")
                problem = method_misfit(m, suite)
                if problem:
                    raise self.fail("study.methods" if "methods" not in over else f"suites.{suite.name}.methods",
                                    f"{m} cannot run on suite {suite.name}: {problem}")
            s_seeds = self.positive_int(over["seeds"], f"suites.{suite.name}.seeds") if "seeds" in over else seeds
            s_wall, s_trials = self.budget(over, f"suites.{suite.name}")
            if not any(k in over for k in BUDGET_KEYS):
                s_wall, s_trials = wallclock, max_trials
            if s_wall is None and s_trials is None:
                s_wall, s_trials = suite.wallclock_s, suite.max_trials
            if s_wall is None and s_trials is None:
                raise self.fail(f"suites.{suite.name}", "no budget: set [budget] wallclock and/or max_trials (the "
                                "suite file has none)")
            plans.append(SuitePlan(suite, s_methods, list(range(s_seeds)), s_wall, s_trials))

        options_raw = self.table(raw.get("options", {}), "options", set(methods))
        options = {}
        for m, opts in options_raw.items():
            self.table(opts, f"options.{m}", set(opts))  # a table, any keys (checked below)
            if not has_baseline(m):
                raise self.fail(f"options.{m}", f"{m} has no meta-parameters (no baselines/{m}.toml)")
            options[m] = check_overrides(m, opts, f"{self.path}: options")
        reference = head.get("reference") or ("hyperion" if "hyperion" in methods else methods[0])
        if reference not in methods:
            raise self.fail("study.reference", f"{reference!r} is not among study.methods")
        return Study(name=head.get("name", self.path.stem), path=self.path, description=head.get("description", ""),
                     plans=plans, reference=reference, outer=outer, workers=workers, device=device, options=options)


def method_misfit(method: str, suite: Suite) -> str:
    """Why ``method`` cannot run on ``suite`` ('' when it can): checked before anything runs, instead of
    failing at the scheduler's construction halfway through a study."""
    info = METHODS[method]
    if info.multi_objective and not suite.objectives.pareto:
        return "it is multi-objective and the suite has no [objectives] pareto"
    if method == "bulk-and-cut" and suite.family != "plain_cnn":
        return "it needs the plain_cnn network family (e.g. flowers17)"
    if method in ONESHOT_METHODS and not suite.space.fusion_bases():
        return "it needs a cell suite with fusion parameters (op, kernel, activation)"
    return ""


def check_finished_runs(study: Study, out: Path) -> None:
    """A finished (suite, method, seed) in ``out`` recorded under another budget than the study asks
    would be reused silently by the runner's resume: refuse it, naming the folder."""
    from hyperion_bench.runner import DONE_FILE, METADATA_FILE

    for plan in study.plans:
        want = {"wallclock_s": plan.wallclock_s, "max_trials": plan.max_trials}
        for method in plan.methods:
            for seed in plan.seeds:
                folder = out / plan.suite.name / method / f"seed-{seed}"
                if not (folder / DONE_FILE).exists() or not (folder / METADATA_FILE).exists():
                    continue
                got = json.loads((folder / METADATA_FILE).read_text()).get("budget", {})
                if got != want:
                    raise UserError(f"{folder} finished under budget {got}, the study asks {want}: use another "
                                    f"--out, or move that folder away")


def run_study(study: Study, out: Path, data_dir: str | None = None, device: str | None = None,
              download: bool = False, quiet: bool = False, backend: str = "local", address: str | None = None) -> None:
    """Run every (suite, method, seed) of the study that ``out`` does not hold finished yet, here or (with
    ``backend="ray"``) as tasks of the Ray cluster at ``address`` (None: a local instance)."""
    check_finished_runs(study, out)
    if backend != "ray":
        _run_plans(study, out, data_dir, device, download, quiet, None)
        return
    from hyperion_bench.ray_engine import ray_session

    with ray_session(address):  # one session for every suite of the study
        _run_plans(study, out, data_dir, device, download, quiet, address or "local")


def _run_plans(study: Study, out: Path, data_dir: str | None, device: str | None, download: bool, quiet: bool,
               ray_address: str | None) -> None:
    from hyperion_bench.runner import Budget, RunSettings, main_command, run_experiment

    for plan in study.plans:
        settings = RunSettings(
            suite=plan.suite,
            methods=plan.methods,
            budget=Budget(wallclock_s=plan.wallclock_s, max_trials=plan.max_trials),
            seeds=plan.seeds,
            workers=study.workers,
            out=out,
            device=device or study.device,
            data_dir=data_dir,
            download=download,
            command=main_command(),
            method_options=with_outer({m: o for m, o in study.options.items() if m in plan.methods}, study.outer,
                                      plan.methods),
            quiet=quiet,
        )
        if ray_address is None:
            run_experiment(settings)
        else:
            from hyperion_bench.ray_engine import run_on_ray

            run_on_ray(settings, None if ray_address == "local" else ray_address)


def status(study: Study, out: Path) -> tuple[int, int]:
    """(finished, total) (suite, method, seed) runs of the study in ``out``."""
    from hyperion_bench.runner import DONE_FILE

    total = done = 0
    for plan in study.plans:
        for method in plan.methods:
            for seed in plan.seeds:
                total += 1
                done += (out / plan.suite.name / method / f"seed-{seed}" / DONE_FILE).exists()
    return done, total
