"""``hocert summary``: certified-accuracy tables."""

from __future__ import annotations

from hocert.results import meta_path

from .helpers import run


def test_summary(two_sigmas, capsys):
    assert run("summary", *map(str, two_sigmas)) == 0
    out = capsys.readouterr().out
    for word in ("clean accuracy", "abstain", "mean time", "l2:", "l1:", "linf:", "envelope"):
        assert word in out
    assert run("summary", str(two_sigmas[0]), "--radii", "0,0.1,0.2") == 0
    out = capsys.readouterr().out
    assert "0.1" in out
    assert "envelope" not in out
    assert run("summary", str(two_sigmas[0]), "--radii", "a,b") == 2


def test_same_file_names_are_told_apart(reference, tmp_path, capsys):
    copy = tmp_path / reference.name
    copy.write_bytes(reference.read_bytes())
    meta_path(copy).write_bytes(meta_path(reference).read_bytes())
    assert run("summary", str(reference), str(copy)) == 0
    out = capsys.readouterr().out
    assert str(copy) in out
    assert str(reference) in out
