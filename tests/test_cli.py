"""The command line: bad input is one line on stderr and exit code 2, never a traceback."""

import subprocess
import sys

import pytest

from conftest import CELL_SUITE, REPO, write_suite
from hyperion_bench.cli import main


def run_cli(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion_bench", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_list_suites_and_methods(capsys):
    assert main(["list", "suites"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "flowers17" in out
    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    for name in ("random", "tpe", "anneal", "blendsearch"):
        assert name in out


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["run", "--suite", "nope", "--max-trials", "1"], ["unknown suite 'nope'", "digits"]),
        (["run", "--suite", "digits", "--methods", "random,magic", "--max-trials", "1"], ["unknown method 'magic'"]),
        (["run", "--suite", "digits", "--budget", "0"], ["--budget", "not a positive duration"]),
        (["run", "--suite", "digits", "--budget", "0m"], ["not a positive duration"]),
        (["run", "--suite", "digits", "--max-trials", "0"], ["--max-trials must be at least 1"]),
        (["run", "--suite", "digits", "--max-trials", "1", "--seeds", "0"], ["--seeds must be at least 1"]),
        (["run", "--suite", "digits", "--max-trials", "1", "--workers", "0"], ["--workers must be at least 1"]),
        (["run", "--suite", "digits", "--max-trials", "x"], ["invalid int value"]),
        (["run", "--device", "tpu"], ["invalid choice"]),
        (["frobnicate"], ["invalid choice"]),
        (["report", "/definitely/not/here"], ["not a directory"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, fragments):
    code = main(args)
    assert_one_line_error(code, capsys.readouterr().err, *fragments)


def test_malformed_suite_file(tmp_path, capsys):
    path = write_suite(tmp_path, CELL_SUITE + "\n[params.cells]\nbroken = \n")
    assert_one_line_error(main(["run", "--suite", str(path), "--max-trials", "1"]), capsys.readouterr().err,
                          str(path), "malformed TOML")


def test_missing_data_names_the_files_and_exits_2_in_a_real_process(tmp_path):
    result = run_cli("run", "--suite", "mnist", "--data-dir", str(tmp_path), "--max-trials", "1",
                     "--out", str(tmp_path / "out"))
    assert_one_line_error(result.returncode, result.stderr, str(tmp_path), "train-images-idx3-ubyte")


def test_unknown_suite_in_a_real_process():
    result = run_cli("run", "--suite", "nope")
    assert_one_line_error(result.returncode, result.stderr, "unknown suite")
