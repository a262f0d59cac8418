"""The README's worked examples of adding a method and a suite, run as they are written there.

Why from the README's text and not from copies: a worked example that no test runs drifts from the
code it teaches. These tests take the code blocks out of README.md, so an example that stops working
fails here.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pandas as pd

from hyperion_bench.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def code_blocks(heading: str, lang: str) -> list[str]:
    """The ```lang blocks of the README section that starts with ``heading`` (up to the next ## heading)."""
    start = README.index(f"\n{heading}\n")
    end = README.find("\n## ", start + 1)
    section = README[start:end if end >= 0 else None]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def test_readme_method_example_is_one_module_and_one_registry_line_and_runs(tmp_path, monkeypatch):
    from hyperion_bench import registry

    module_code, registry_line = code_blocks("## How to add a method", "python")
    module = types.ModuleType("hyperion_bench.methods.gp")
    exec(compile(module_code, "README.md (hyperion_bench/methods/gp.py)", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "hyperion_bench.methods.gp", module)
    info = eval(registry_line.strip().rstrip(","), vars(registry))  # the line, in the registry's own namespace
    assert isinstance(info, registry.MethodInfo) and info.name == "gp" and not info.multi_objective
    monkeypatch.setitem(registry.METHODS, info.name, info)

    out = tmp_path / "runs"
    assert main(["run", "--suite", "zdt1", "--methods", "gp", "--max-trials", "12", "--seeds", "1",
                 "--out", str(out)]) == 0
    folder = out / "zdt1" / "gp" / "seed-0"
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 12 and (trials["status"] == "completed").all()
    assert json.loads((folder / "metadata.json").read_text())["method"] == "gp"


def test_readme_suite_example_runs_one_trial(tmp_path, capsys):
    (suite_toml,) = code_blocks("## How to add a suite", "toml")
    path = tmp_path / "gunpoint.toml"
    path.write_text(suite_toml)
    out = tmp_path / "runs"
    assert main(["run", "--suite", str(path), "--methods", "random", "--max-trials", "1", "--seeds", "1",
                 "--out", str(out)]) == 0
    trials = pd.read_csv(out / "gunpoint" / "random" / "seed-0" / "trials.csv")
    assert len(trials) == 1 and trials["status"].tolist() == ["completed"], trials.get("error")
    assert 0.0 <= trials["val_error"].iloc[0] <= 1.0 and trials["n_params"].iloc[0] > 0
