"""Command line: ``list``, ``run``, ``report`` and ``study``.

Why the care with errors: people script these commands. Bad input (unknown suite or method, a
malformed suite file, an impossible budget, missing data) prints one line and exits with 2; only
bugs show a traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from hyperion_bench.errors import UserError
from hyperion_bench.registry import outer_kinds

DEFAULT_METHODS = "random,tpe,anneal,blendsearch"
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + message; we want one line
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hyperion-bench", description="Fair benchmarks for joint HPO + NAS.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ls = sub.add_parser("list", help="list suites or methods")
    ls.add_argument("what", choices=["suites", "methods"])

    run = sub.add_parser("run", help="run methods x seeds on a suite under one budget")
    run.add_argument("--suite", default="digits", help="suite name (benchmarks/<name>.toml) or path to a TOML file")
    run.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma-separated (default {DEFAULT_METHODS})")
    run.add_argument("--budget", help="wall-clock budget per (method, seed), e.g. 90s, 5m, 2h")
    run.add_argument("--max-trials", type=int, help="trial budget per (method, seed)")
    run.add_argument("--seeds", default="1", help="a count N (seeds 0..N-1, default 1) or a range A-B (e.g. 5-9)")
    run.add_argument("--seed-start", type=int, default=0, help="with a count: seeds start here (default 0)")
    run.add_argument("--shard", metavar="I/N", help="run only part I (0..N-1) of N equal parts of the "
                     "(method, seed) runs: one part per machine or Slurm array task")
    run.add_argument("--workers", type=int, default=1, help="concurrent trials (default 1)")
    run.add_argument("--out", default="runs", help="results folder (default runs/); rerunning resumes")
    run.add_argument("--data-dir", help="dataset root (default: $HYPERION_DATA_DIR)")
    run.add_argument("--download", action="store_true", help="let torchvision download missing data")
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    run.add_argument("--backend", default="local", choices=["local", "ray"],
                     help="local (default), or ray: every (method, seed) run a Ray task (docs/cli.md)")
    run.add_argument("--address", help="with --backend ray: HOST:PORT of a Ray cluster's head (default: start "
                     "a local instance)")
    run.add_argument("--gpus", help="GPUs the workers may use, e.g. 0,1,2,3 (default: every visible GPU)")
    run.add_argument("--gpus-per-trial", type=float, help="each trial's GPUs: 1, 2, ... or a share 0.5, 0.25, "
                     "... (default: 1 when there are as many GPUs as workers, else the share that fits)")
    run.add_argument("--quiet", action="store_true", help="no progress line per finished trial on stderr")
    run.add_argument("--outer", choices=outer_kinds(),
                     help="Hyperion's outer optimiser: short for --method-option hyperion.outer=X (default: "
                          "baselines/hyperion.toml's, tpe, or the suite's)")
    run.add_argument("--method-option", action="append", metavar="METHOD.KEY=VALUE",
                     help="override a meta-parameter of baselines/METHOD.toml (repeatable)")

    rep = sub.add_parser("report", help="summary table (and plots) of a results folder")
    rep.add_argument("dir", nargs="+", help="result folders; several (e.g. one per machine or shard) are merged")
    rep.add_argument("--format", default="md", choices=["md", "csv", "latex"])
    rep.add_argument("--plots", action="store_true",
                     help="also write DIR/report/: the table as md, csv and latex, the statistics, PNG + PDF figures")
    rep.add_argument("--reference", help="method the significance tests compare with (default: hyperion when it "
                     "ran, else the first method alphabetically)")

    study = sub.add_parser("study", help="run a study file's missing (suite, method, seed) runs, then report")
    study.add_argument("file", help="benchmarks/studies/<name>.toml, or a study name")
    study.add_argument("--out", help="results folder (default runs/studies/<name>); rerunning resumes")
    study.add_argument("--reference", help="method the tests compare with (default: the study's reference)")
    study.add_argument("--data-dir", help="dataset root (default: $HYPERION_DATA_DIR)")
    study.add_argument("--download", action="store_true", help="let torchvision download missing data")
    study.add_argument("--device", choices=["auto", "cpu", "cuda"], help="overrides the study's device")
    study.add_argument("--quiet", action="store_true", help="no progress line per finished trial on stderr")
    study.add_argument("--report-only", action="store_true", help="run nothing; report what the folder holds")
    study.add_argument("--backend", default="local", choices=["local", "ray"], help="as for run")
    study.add_argument("--address", help="with --backend ray: HOST:PORT of a Ray cluster's head")
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "suites":
        from hyperion_bench.suites import list_suites, load_suite

        for name in list_suites():
            print(f"{name:15s} {load_suite(name).description}")
    else:
        from hyperion_bench.registry import METHODS

        for name, info in sorted(METHODS.items()):
            print(f"{name:15s} {info.description}")
    return 0


def check_backend(args: argparse.Namespace) -> None:
    """``run`` and ``study``: an --address only means something to the Ray engine."""
    if args.address and args.backend != "ray":
        raise UserError("--address goes with --backend ray")


def cmd_run(args: argparse.Namespace) -> int:
    from hyperion_bench.method_settings import parse_cli_options, with_outer
    from hyperion_bench.placement import parse_seeds, parse_shard
    from hyperion_bench.report import load_trials, render, summary_table
    from hyperion_bench.runner import Budget, RunSettings, main_command, run_experiment
    from hyperion_bench.suites import load_suite, parse_duration

    suite = load_suite(args.suite)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise UserError("--methods: give at least one method")
    wallclock = parse_duration(args.budget, "--budget") if args.budget is not None else None
    if wallclock is None and args.max_trials is None:
        wallclock, max_trials = suite.wallclock_s, suite.max_trials
    else:
        max_trials = args.max_trials
    settings = RunSettings(
        suite=suite,
        methods=methods,
        budget=Budget(wallclock_s=wallclock, max_trials=max_trials),
        seeds=parse_seeds(args.seeds, args.seed_start),
        workers=args.workers,
        out=Path(args.out),
        device=args.device,
        data_dir=args.data_dir,
        download=args.download,
        command=main_command(),
        method_options=with_outer(parse_cli_options(args.method_option), args.outer, methods),
        quiet=args.quiet,
        gpus=args.gpus,
        gpus_per_trial=args.gpus_per_trial,
        shard=parse_shard(args.shard),
    )
    check_backend(args)
    if args.backend == "ray":  # every (method, seed) a Ray task; each node resolves its device, GPUs and data
        from hyperion_bench.ray_engine import run_on_ray

        run_on_ray(settings, args.address)
    else:
        run_experiment(settings)
    print(render(summary_table(load_trials(Path(args.out) / suite.name), warn=False), "md"))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from hyperion_bench.report import load_trials, render, summary_table

    trials = load_trials(*[Path(d) for d in args.dir])
    table = summary_table(trials)
    sys.stdout.write(render(table, args.format))
    if args.plots:
        from hyperion_bench.publish import write_report

        folder = Path(args.dir[0]) / "report"
        paths = write_report(trials, folder, args.reference)
        print(f"wrote {len(paths)} files to {folder}/ (summary, paper table, tests, figures)", file=sys.stderr)
    elif args.reference:
        raise UserError("report: --reference needs --plots (the tests are written with the report files)")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from hyperion_bench.publish import write_report
    from hyperion_bench.report import load_trials
    from hyperion_bench.study import load_study, run_study, status

    study = load_study(args.file)
    out = Path(args.out) if args.out else Path("runs") / "studies" / study.name
    if args.reference and args.reference not in study.methods:
        raise UserError(f"--reference {args.reference!r} is not among the study's methods ({', '.join(study.methods)})")
    done, total = status(study, out)
    print(f"[hyperion-bench] study {study.name}: {done}/{total} (suite, method, seed) runs finished in {out}",
          file=sys.stderr)
    if not args.report_only:
        check_backend(args)
        run_study(study, out, data_dir=args.data_dir, device=args.device, download=args.download, quiet=args.quiet,
                  backend=args.backend, address=args.address)
    trials = load_trials(out)
    wanted = {(p.suite.name, m, s) for p in study.plans for m in p.methods for s in p.seeds}
    keep = [(su, m, s) in wanted for su, m, s in zip(trials["suite"], trials["method"], trials["seed"], strict=True)]
    trials = trials[keep]
    if trials.empty:
        raise UserError(f"study {study.name}: no finished trials in {out} yet (run without --report-only)")
    folder = out / "report"
    title = f"Study {study.name} ({study.path}): {study.description}".rstrip(": ")
    paths = write_report(trials, folder, args.reference or study.reference, title=title)
    print((folder / "paper.md").read_text())
    print(f"wrote {len(paths)} files to {folder}/", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"list": cmd_list, "run": cmd_run, "report": cmd_report,
                "study": cmd_study}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        # the machine, not the code: a full disk, a quota, a read-only or forbidden place (one line, exit 2)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror}; finished trials are kept: free the space and run the same command "
              f"to resume", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished trials are in the results folder; run the same command to resume",
              file=sys.stderr)
        return 130
