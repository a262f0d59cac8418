"""Command line: ``list``, ``run`` and ``report``.

Why the care with errors: people script these commands. Bad input (unknown suite or method, a
malformed suite file, an impossible budget, missing data) prints one line and exits with 2; only
bugs show a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hyperion_bench.errors import UserError

DEFAULT_METHODS = "random,tpe,anneal,blendsearch"


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
    run.add_argument("--seeds", type=int, default=1, help="number of seeds: 0..N-1 (default 1)")
    run.add_argument("--workers", type=int, default=1, help="concurrent trials (default 1)")
    run.add_argument("--out", default="runs", help="results folder (default runs/); rerunning resumes")
    run.add_argument("--data-dir", help="dataset root (default: $HYPERION_DATA_DIR)")
    run.add_argument("--download", action="store_true", help="let torchvision download missing data")
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    run.add_argument("--outer", default="tpe", choices=["random", "tpe", "anneal", "blendsearch"],
                     help="Hyperion's outer optimiser (default tpe)")
    run.add_argument("--method-option", action="append", metavar="METHOD.KEY=VALUE",
                     help="override a meta-parameter of baselines/METHOD.toml (repeatable)")

    rep = sub.add_parser("report", help="summary table (and plots) of a results folder")
    rep.add_argument("dir")
    rep.add_argument("--format", default="md", choices=["md", "csv", "latex"])
    rep.add_argument("--plots", action="store_true",
                     help="also write DIR/report/: the table as md, csv and latex, and PNG + PDF figures")
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "suites":
        from hyperion_bench.suites import list_suites, load_suite

        for name in list_suites():
            print(f"{name:15s} {load_suite(name).description}")
    else:
        from hyperion_bench.methods import METHODS

        for name, info in sorted(METHODS.items()):
            print(f"{name:15s} {info.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hyperion_bench.baselines import parse_cli_options
    from hyperion_bench.report import load_trials, render, summary_table
    from hyperion_bench.runner import Budget, RunSettings, main_command, run_experiment
    from hyperion_bench.suites import load_suite, parse_duration

    suite = load_suite(args.suite)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise UserError("--methods: give at least one method")
    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {args.seeds}")
    wallclock = parse_duration(args.budget, "--budget") if args.budget is not None else None
    if wallclock is None and args.max_trials is None:
        wallclock, max_trials = suite.wallclock_s, suite.max_trials
    else:
        max_trials = args.max_trials
    settings = RunSettings(
        suite=suite,
        methods=methods,
        budget=Budget(wallclock_s=wallclock, max_trials=max_trials),
        seeds=list(range(args.seeds)),
        workers=args.workers,
        out=Path(args.out),
        device=args.device,
        data_dir=args.data_dir,
        download=args.download,
        command=main_command(),
        outer=args.outer,
        method_options=parse_cli_options(args.method_option),
    )
    run_experiment(settings)
    print(render(summary_table(load_trials(Path(args.out) / suite.name), warn=False), "md"))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from hyperion_bench.report import load_trials, render, summary_table

    trials = load_trials(Path(args.dir))
    table = summary_table(trials)
    sys.stdout.write(render(table, args.format))
    if args.plots:
        from hyperion_bench.plots import plot_all

        folder = Path(args.dir) / "report"
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, ext in (("md", "md"), ("csv", "csv"), ("latex", "tex")):
            (folder / f"summary.{ext}").write_text(render(table, fmt))
        paths = plot_all(trials, folder)
        print(f"wrote {folder}/summary.{{md,csv,tex}} and {len(paths)} figure files", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"list": cmd_list, "run": cmd_run, "report": cmd_report}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: finished trials are in the results folder; run the same command to resume",
              file=sys.stderr)
        return 130
