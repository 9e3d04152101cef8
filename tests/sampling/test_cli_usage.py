"""Smaller command-line issues (issue #13, item 7): parsing, units, file modes, messages."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from hocert_sampling import cli
from hocert_sampling.examples import load_example

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TINY_GRID = ["--z-grid", "0:1:2", "--a-grid=-1:1:3", "--b-grid", "0:1:2", "--quiet"]


def run(*argv: str) -> int:
    return cli.main(list(argv))


# ----- negative numbers, typos, abbreviations ----------------------------------------------------


def test_negative_numbers_are_positional_values(capsys):
    assert run("radius", "0.9", "-1e-3", "0.01", "--json") == 0
    direct = json.loads(capsys.readouterr().out)
    assert run("radius", "--json", "--", "0.9", "-1e-3", "0.01") == 0
    assert json.loads(capsys.readouterr().out) == direct
    assert direct["m1"] == -1e-3
    assert run("radius", "0.9", "-inf", "0", "--json") == 0  # no information on m1: Cohen's
    assert json.loads(capsys.readouterr().out)["m1"] == "-inf"
    assert run("radius", "0.9", "-.5E-1", "0.01") == 0
    # an option value is still checked as one
    assert run("radius", "0.9", "-0.5", "0.1", "--sigma", "-1e-3") == 2
    assert "--sigma: must be > 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["certify", "--sgma", "0.25"], "usage: hocert certify", "did you mean --sigma?"),
        (["radius", "0.9", "0", "0", "--jsn"], "usage: hocert radius", "did you mean --json?"),
        (["table", "build", "--chunksize", "8"], "usage: hocert table build", "--chunk-size?"),
        (["table", "query", "t.npz", "--nrmalized"], "usage: hocert table query", "--normalized"),
        (["slice", "--q", "0.9", "--grad-norm", "1", "--bogus"], "usage: hocert slice", ""),
    ],
)
def test_unknown_option_shows_the_usage_of_its_command(argv, usage, hint, capsys):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert usage in err
    assert "usage: hocert [-h]" not in err
    assert "unrecognized arguments" in err
    assert hint in err


@pytest.mark.parametrize(
    "argv",
    [
        ["certify", "--sig", "0.25", "--max", "1"],
        ["radius", "0.97", "-0.6", "0.7", "--norm"],
        ["table", "build", "--chunk", "8", "--scheduler", "synchronous"],
        ["slice", "--q", "0.9", "--grad-norm", "0.5", "--ang", "16"],
        ["--trace", "radius", "0.9", "0", "0"],
    ],
)
def test_abbreviated_options_are_refused(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(*argv) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing ran


# ----- slice units -----------------------------------------------------------------------------


def test_slice_units_follow_sigma(tmp_path, capsys):
    base = ["slice", "--q", "0.9", "--grad-norm", "0.5", "--angles", "16"]
    plain, scaled = tmp_path / "plain.svg", tmp_path / "scaled.svg"
    assert run(*base, "--out", str(plain)) == 0
    out = capsys.readouterr().out
    assert "(units of sigma)" in out
    assert "input units" not in out
    svg = plain.read_text()  # Matplotlib keeps each text as a comment in the SVG
    assert "along $\\beta$ (units of $\\sigma$)" in svg
    assert "input units" not in svg
    assert run(*base, "--sigma", "0.25", "--out", str(scaled)) == 0
    assert "(input units)" in capsys.readouterr().out
    assert "along $\\beta$ (input units)" in scaled.read_text()
    # a gradient in 1/input units means nothing without sigma
    assert run(*base, "--units", "gradient", "--out", str(plain)) == 2
    assert "--units gradient needs --sigma" in capsys.readouterr().err


# ----- file modes ------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_table_and_checkpoint_files_respect_the_umask(tmp_path):
    out, ckpt = tmp_path / "t.npz", tmp_path / "ck"
    old = os.umask(0o022)
    try:
        argv = ["table", "build", "--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
        assert run(*argv, "--checkpoint", str(ckpt)) == 0
    finally:
        os.umask(old)
    chunks = sorted(ckpt.glob("chunk_*.npz"))
    assert chunks
    for path in [out, *chunks]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# ----- messages --------------------------------------------------------------------------------


def test_table_query_on_a_tsv_names_the_file(tmp_path, capsys):
    tsv = tmp_path / "queries.tsv"
    tsv.write_text("q\tm1\tm2\n0.9\t0\t0\n")
    assert run("table", "query", str(tsv), "0.9", "0", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(tsv) in err
    assert "not an .npz file" in err
    assert "--input" in err
    assert "pickle" not in err


@pytest.fixture(scope="module")
def labels_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example model returning labels (ArgMax of its scores) instead of scores."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    model = onnx.load(load_example()[0])
    model.graph.node.append(helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0))
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"]))
    path = tmp_path_factory.mktemp("onnx") / "labels.onnx"
    onnx.save(model, path)
    return path


def test_too_few_classes_is_a_usage_error(labels_model, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    fast = ["--n", "200", "--n0", "20", "--batch", "200", "--quiet", "--max", "2"]
    argv = ["certify", "--out", str(out), "--model", str(labels_model), "--sigma", "0.25", *fast]
    assert run(*argv, "--num-classes", "3") == 2  # the example's labels go up to 9
    err = capsys.readouterr().err
    assert "--num-classes 3 is too few" in err
    assert "up to 9" in err
    assert not out.exists()
    x = load_example()[1]
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:3], y=np.array([0, 1, 12]))  # a label the scores model cannot give
    assert run("certify", "--out", str(out), "--data", str(data), *fast) == 2
    assert "10 classes are too few" in capsys.readouterr().err
    assert run(*argv, "--num-classes", "10") == 0


# ----- docs ------------------------------------------------------------------------------------


def test_docs_radius_samples_match_the_command(capsys):
    """The sample outputs of `hocert radius` in docs/cli.md are what the command prints."""
    text = DOCS.read_text()
    blocks = re.findall(r"```text\n\$ hocert (radius [^\n]*)\n(.*?)```", text, flags=re.S)
    blocks = [(command, sample) for command, sample in blocks if "error" not in sample]
    assert len(blocks) == 2
    for command, sample in blocks:
        assert run(*command.split()) == 0
        printed = capsys.readouterr().out
        if "--json" in command:
            expected, got = json.loads(sample), json.loads(printed)
            assert got.keys() == expected.keys()
            for key, value in expected.items():
                want = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
                assert got[key] == want, key
        else:
            assert [line.split()[0] for line in printed.splitlines()] == [
                line.split()[0] for line in sample.splitlines()
            ]
            numbers = [float(line.split()[1]) for line in printed.splitlines() if line[:1] == "r"]
            documented = [float(line.split()[1]) for line in sample.splitlines() if line[:1] == "r"]
            assert numbers == pytest.approx(documented, rel=1e-9)
            assert printed.splitlines()[2:] == sample.splitlines()[2:]  # status, nit
