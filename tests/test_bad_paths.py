"""Bad paths and files are input errors too (issue 14, part 8): one line naming the path, exit 2, never a
traceback. Reported from outside: several of these printed 20-50 lines and exited 1."""

from __future__ import annotations

import errno

import pytest

from hyperion_bench.cli import main

ZDT = ["run", "--suite", "zdt1", "--methods", "random", "--max-trials", "2", "--seeds", "1"]


def one_line_error(capsys, *fragments):
    text = capsys.readouterr().err
    assert "Traceback" not in text, text
    err = text.strip().splitlines()[-1]  # progress lines of trials that finished before come first
    assert err.startswith("error: "), text
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_a_suite_file_that_is_not_utf8_text(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    assert main(["run", "--suite", str(path), "--max-trials", "1"]) == 2
    one_line_error(capsys, str(path), "UTF-8")


def test_an_out_that_is_an_existing_file(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("not a folder")
    assert main([*ZDT, "--out", str(out)]) == 2
    one_line_error(capsys, str(out), "not a folder")
    assert out.read_text() == "not a folder"


def test_an_out_that_cannot_be_created(tmp_path, capsys):
    out = "/proc/hyperion-bench-cannot-write-here"  # refused even to root
    assert main([*ZDT, "--out", out]) == 2
    one_line_error(capsys, out)


def test_a_data_dir_that_is_not_a_folder(tmp_path, capsys):
    data = tmp_path / "data.zip"
    data.write_text("x")
    assert main(["run", "--suite", "digits", "--methods", "random", "--max-trials", "1", "--data-dir", str(data),
                 "--out", str(tmp_path / "out")]) == 2
    one_line_error(capsys, str(data), "not a folder")


def test_a_full_disk_while_writing_records_is_one_line_and_leaves_no_corrupt_file(tmp_path, capsys, monkeypatch):
    import hyperion_bench.records as records

    real = records.write_text_atomic
    calls = {"n": 0}

    def full_after_two(path, text):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(records, "write_text_atomic", full_after_two)
    out = tmp_path / "out"
    assert main([*ZDT, "--out", str(out)]) == 2
    one_line_error(capsys, "No space left on device")
    folder = out / "zdt1" / "random" / "seed-0"
    assert not list(folder.glob(".*.tmp")), list(folder.iterdir())
    assert not (folder / "done.json").exists()


@pytest.mark.parametrize("name", ["trials.csv", "metadata.json"])
def test_records_never_leave_a_temp_file(tmp_path, name):
    from hyperion_bench.atomic import write_text_atomic

    write_text_atomic(tmp_path / name, "x")
    assert [p.name for p in tmp_path.iterdir()] == [name]
