"""Mutation testing of the core: how many deliberately broken versions of each module the tests catch.

Why a script (not CI: a run takes tens of minutes to hours on two cores): mutmut (3.x) changes one
operator, constant or call at a time in the modules the published numbers rest on (pyproject.toml,
``[tool.mutmut] only_mutate``) and runs the tests that cover the changed function; a *survivor* is a
change no test noticed. This script runs mutmut on a scratch copy of the repository (so the working
tree and its ``mutants/`` stay untouched), on the modules asked for, with only the test files that
exercise them for mutmut's coverage pass, and writes per-module scores with the command, hardware
and date to ``results/mutation/<tag>/``:

- ``scores.csv`` / ``scores.md``: per module the mutants, killed (incl. timeouts), survived, no tests,
  other, and score = killed / (all mutants that were run);
- ``survivors.md``: every surviving mutant's diff (``mutmut show``), to kill with a test or to
  explain as equivalent in ``results/mutation/README.md``.

    nice -n 15 python benchmarks/mutation.py --modules metrics,mo_select --tag 2026-11-24
    nice -n 15 python benchmarks/mutation.py --rev 37ca364 --tag before   # a committed snapshot

Needs ``pip install 'mutmut>=3.3'`` (in the ``[dev]`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# short name -> (module file, the test files that exercise it: mutmut's coverage pass runs only these)
MODULES: dict[str, tuple[str, list[str]]] = {
    "metrics": ("hyperion_bench/metrics.py", ["test_metrics.py", "test_mo_methods.py", "test_report.py"]),
    "objectives": ("hyperion_bench/objectives.py", ["test_evaluate.py", "test_objectives.py"]),
    "records": ("hyperion_bench/records.py", ["test_records.py", "test_records_log.py"]),
    "report": ("hyperion_bench/report.py", ["test_report.py", "test_report_mutants.py", "test_records.py"]),
    "supernet": ("hyperion_bench/nn/supernet.py", ["test_supernet.py", "test_supernet_fast.py",
                                                    "test_supernet_mutants.py", "test_fake_devices.py"]),
    "supernet_fast": ("hyperion_bench/nn/supernet_fast.py", ["test_supernet_fast.py", "test_supernet_mutants.py"]),
    "darts": ("hyperion_bench/nn/darts.py", ["test_supernet.py", "test_supernet_fast.py", "test_darts_settings.py",
                                              "test_darts_search.py", "test_darts_mutants.py"]),
    "hyperdarts": ("hyperion_bench/nn/hyperdarts.py", ["test_hyperdarts.py", "test_darts_mutants.py"]),
    "genotype": ("hyperion_bench/nn/genotype.py", ["test_nn.py", "test_supernet.py", "test_genotype.py"]),
    "mo_select": ("hyperion_bench/methods/_mo_select.py", ["test_mo_methods.py", "test_properties.py"]),
    "sh_emoa": ("hyperion_bench/methods/sh_emoa.py", ["test_mo_methods.py"]),
    "hyperband": ("hyperion_bench/methods/_hyperband.py", ["test_mo_methods.py"]),
    "hyperion": ("hyperion_bench/methods/hyperion.py", ["test_hyperion.py"]),
}
# Tests that cannot run under mutmut when the module is mutated: torch.compile's dynamo cannot trace mutmut's
# trampoline (it calls ContextVar.set, "Unsupported" in dynamo), so the compile test fails on the unmutated code
# and mutmut's stats pass stops ("failed to collect stats. runner returned 1"). Every mutant would "die" on it.
DESELECT: dict[str, list[str]] = {
    "supernet_fast": ["tests/test_supernet_fast.py::test_the_fast_supernet_compiles_first_and_second_order"],
}
# mutmut's exit-code verdicts (mutmut/stats.py), folded into the columns of the table
VERDICT = {1: "killed", 3: "killed", 36: "killed", 24: "killed", -24: "killed", 152: "killed", 255: "killed",
           0: "survived", 5: "no_tests", 33: "no_tests", 34: "skipped", 37: "killed", None: "not_checked"}


def sh(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, **kw)


def hardware() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor() or "?")
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, {platform.machine()}, no GPU used"


def snapshot(rev: str | None, dest: Path) -> str:
    """Copy the repository (a commit, or the working tree's tracked and untracked-not-ignored files)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if rev:
        archive = subprocess.run(["git", "archive", rev], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return sh(["git", "rev-parse", "--short", rev], REPO).stdout.strip()
    files = sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], REPO).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    head = sh(["git", "rev-parse", "--short", "HEAD"], REPO).stdout.strip()
    dirty = sh(["git", "status", "--porcelain"], REPO).stdout.strip()
    return head + ("+uncommitted changes" if dirty else "")


_DIFFS = """import json, sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
print(json.dumps({n: get_diff_for_mutant(n, path=find_mutant(n).path) for n in json.load(sys.stdin)}))
"""


def mutant_diffs(names: list[str], work: Path, env: dict[str, str]) -> dict[str, str]:
    """Each mutant's diff, in one process (mutmut's own functions); ``mutmut show`` per mutant otherwise."""
    if not names:
        return {}
    out = sh([sys.executable, "-c", _DIFFS], work, env=env, input=json.dumps(names))
    if out.returncode == 0:
        return json.loads(out.stdout.strip().splitlines()[-1])
    return {n: sh(["mutmut", "show", n], work, env=env).stdout for n in names}


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def configure(dest: Path, files: list[str], tests: list[str], deselect: list[str] = ()) -> None:
    """The checkout's [tool.mutmut], narrowed to ``files`` and ``tests`` (less ``deselect``), replaces the copy's."""
    base = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]
    text = (dest / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text)
    lines = ["", "[tool.mutmut]", f"source_paths = {toml_list(base['source_paths'])}",
             f"only_mutate = {toml_list(files)}", f"also_copy = {toml_list(base.get('also_copy', []))}",
             f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
             f"pytest_add_cli_args = {toml_list([a for t in deselect for a in ('--deselect', t)])}",
             f"process_isolation = {json.dumps(base.get('process_isolation', 'fork'))}", ""]
    (dest / "pyproject.toml").write_text(text.rstrip() + "\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", default=",".join(MODULES), help=f"comma-separated, from: {', '.join(MODULES)}")
    ap.add_argument("--rev", help="a commit to test (default: the working tree as it is)")
    ap.add_argument("--tag", default=datetime.now(UTC).strftime("%Y-%m-%d"), help="results/mutation/<tag>/")
    ap.add_argument("--out", type=Path, default=REPO / "results" / "mutation")
    ap.add_argument("--workdir", type=Path, help="scratch copy (default /tmp/hb-mutation-<tag>)")
    ap.add_argument("--max-children", type=int, default=1, help="mutants tested in parallel (default 1)")
    ap.add_argument("--collect", type=Path, help="only read the verdicts of an earlier (possibly interrupted) run "
                                                 "in this scratch copy; mutants never run count as not_checked")
    ap.add_argument("--note", default="", help="with --collect: how that run was started (code, command, time)")
    args = ap.parse_args(argv)

    names = [m.strip() for m in args.modules.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODULES]
    if unknown:
        ap.error(f"unknown module(s) {unknown}; choose from {', '.join(MODULES)}")
    work = args.collect or args.workdir or Path(f"/tmp/hb-mutation-{args.tag}")
    files = [MODULES[m][0] for m in names]
    command = "python benchmarks/mutation.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    started = datetime.now(UTC)
    if args.collect:
        code, minutes = args.note or "see the run's own notes", float("nan")
        ran = tomllib.loads((work / "pyproject.toml").read_text())["tool"]["mutmut"]
        tests = ran["pytest_add_cli_args_test_selection"]
        deselect = ran.get("pytest_add_cli_args", [])[1::2]
    else:
        code = snapshot(args.rev, work)
        tests = sorted({f"tests/{t}" for m in names for t in MODULES[m][1] if (work / "tests" / t).exists()})
        deselect = sorted({t for m in names for t in DESELECT.get(m, [])})
        configure(work, files, tests, deselect)
        t0 = time.time()
        print(f"mutmut on {', '.join(files)} in {work} (tests: {' '.join(tests)}"
              + (f"; deselected: {' '.join(deselect)}" if deselect else "") + ")", flush=True)
        run = subprocess.run(["mutmut", "run", "--max-children", str(args.max_children)], cwd=work, env=env,
                             text=True, capture_output=True)
        minutes = (time.time() - t0) / 60
        (work / "mutmut-run.log").write_text(run.stdout + run.stderr)
        if run.returncode != 0:
            print(run.stdout[-3000:] + run.stderr[-3000:], file=sys.stderr)
            print(f"mutmut run failed (exit {run.returncode}); log: {work}/mutmut-run.log", file=sys.stderr)
            return 1

    rows, survivors = [], []
    for name in names:
        meta = work / "mutants" / f"{MODULES[name][0]}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        verdicts = {k: VERDICT.get(v, "other") for k, v in codes.items()}
        count = {v: sum(1 for x in verdicts.values() if x == v) for v in ("killed", "survived", "no_tests")}
        run_n = sum(1 for x in verdicts.values() if x not in ("skipped", "not_checked"))
        rows.append({"module": MODULES[name][0], "mutants": len(codes), **count,
                     "not_checked": len(codes) - run_n, "other": run_n - sum(count.values()),
                     "score_pct": round(100 * count["killed"] / run_n, 1) if run_n else float("nan")})
        survivors += [(verdicts[k], k) for k in sorted(k for k, v in verdicts.items() if v in ("survived", "no_tests"))]
    diffs = mutant_diffs([k for _, k in survivors], work, env)

    folder = args.out / args.tag
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["module", "mutants", "killed", "survived", "no_tests", "not_checked", "other", "score_pct"]
    (folder / "scores.csv").write_text("\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols)
                                                                      for r in rows]) + "\n")
    version = sh(["mutmut", "--version"], work).stdout.strip() or "mutmut 3.x"
    head = [f"# Mutation scores ({args.tag})", "",
            f"- command: `{command}`",
            f"- code: {code}; {version}; test files for the coverage pass: {', '.join(tests)}"
            + (f"; deselected (cannot run under mutmut, see the script's DESELECT): {', '.join(deselect)}"
               if deselect else ""),
            f"- hardware: {hardware()}",
            f"- date: {started:%Y-%m-%d %H:%M} UTC" + (f", {minutes:.0f} min" if minutes == minutes else ""), "",
            "score = killed (incl. timeouts) / mutants run; `no_tests`: no selected test reaches the function.", "",
            "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    (folder / "scores.md").write_text("\n".join(head + ["| " + " | ".join(str(r[c]) for c in cols) + " |"
                                                        for r in rows]) + "\n")
    body = [f"# Surviving mutants ({args.tag}, code {code})", ""]
    for verdict, key in survivors:
        body += [f"## {key} ({verdict})", "", "```diff", diffs[key].strip(), "```", ""]
    (folder / "survivors.md").write_text("\n".join(body))
    print((folder / "scores.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
