"""Numba's compiled kernels live in a per-user cache directory, never in the package folder.

Issue #13: with Numba's default, ``pip install .`` plus one run left ``*.nbi``/``*.nbc`` files in
``site-packages/hocert_solver/__pycache__``; pip does not remove them, and the leftover folder
then shadowed a later ``pip install -e .`` as an empty namespace package.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from numba.core import config
from numba.core.dispatcher import Dispatcher

import hocert_solver
from hocert_solver import _numba_cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def numba_setting(monkeypatch: pytest.MonkeyPatch):
    """Give Numba's cache setting and the module's state back after a test that changes them."""
    saved = (config.CACHE_DIR, _numba_cache.chosen, _numba_cache._previous)
    yield monkeypatch
    monkeypatch.undo()
    config.reload_config()  # Numba's config follows the restored environment again
    config.CACHE_DIR, _numba_cache.chosen, _numba_cache._previous = saved


def _no_user_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .numba_config.yaml here
    config.reload_config()
    config.CACHE_DIR = ""


def _user_cache_root(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Point this platform's per-user cache root at ``root``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    monkeypatch.setenv("LOCALAPPDATA", str(root))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: root))


def test_numba_cache_dir_from_the_environment_is_respected(numba_setting, tmp_path):
    numba_setting.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert _numba_cache.resolve() == str(tmp_path / "mine")


def test_a_directory_set_in_numba_config_is_respected(numba_setting, tmp_path):
    _no_user_setting(numba_setting)
    config.CACHE_DIR = str(tmp_path / "set-in-code")
    assert _numba_cache.resolve() == str(tmp_path / "set-in-code")


def test_default_is_a_per_user_directory_keyed_by_the_version(numba_setting, tmp_path):
    _no_user_setting(numba_setting)
    _user_cache_root(numba_setting, tmp_path)
    chosen = Path(_numba_cache.resolve())
    assert chosen == _numba_cache.default_cache_dir()
    assert chosen.is_dir()
    assert chosen.name == hocert_solver.__version__
    assert chosen.parent.parts[-2:] == ("hocert", "numba")
    if sys.platform == "darwin":
        assert chosen.is_relative_to(tmp_path / "Library" / "Caches")
    else:
        assert chosen.is_relative_to(tmp_path)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG applies on Linux")
def test_xdg_cache_home_must_be_absolute(numba_setting, tmp_path):
    _user_cache_root(numba_setting, tmp_path)
    numba_setting.setenv("XDG_CACHE_HOME", "relative/cache")
    assert _numba_cache.default_cache_dir() == tmp_path / ".cache" / "hocert" / "numba" / (
        hocert_solver.__version__
    )


def test_an_unwritable_cache_falls_back_to_a_private_temporary_directory(numba_setting, tmp_path):
    _no_user_setting(numba_setting)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    numba_setting.setattr(_numba_cache, "_user_cache_root", lambda: blocker)
    chosen = Path(_numba_cache.resolve())
    try:
        assert chosen.is_dir()
        assert not chosen.is_relative_to(blocker)
        assert not chosen.is_relative_to(Path(hocert_solver.__file__).parent)
        if os.name == "posix":
            assert chosen.stat().st_mode & 0o077 == 0  # nobody else can plant cache files
    finally:
        shutil.rmtree(chosen, ignore_errors=True)


def test_nowhere_to_write_leaves_numba_alone_without_crashing(numba_setting, tmp_path):
    _no_user_setting(numba_setting)
    numba_setting.setattr(_numba_cache, "_user_cache_root", lambda: tmp_path / "file" / "x")
    (tmp_path / "file").write_text("")

    def no_temporary_directory(*args, **kwargs):
        raise PermissionError("no temporary directory")

    numba_setting.setattr(_numba_cache.tempfile, "mkdtemp", no_temporary_directory)
    assert _numba_cache.resolve() is None
    _numba_cache.redirect()
    assert config.CACHE_DIR == ""
    _numba_cache.restore()
    assert config.CACHE_DIR == ""


def test_redirect_and_restore(numba_setting, tmp_path):
    _no_user_setting(numba_setting)
    _user_cache_root(numba_setting, tmp_path)
    _numba_cache.redirect()
    assert config.CACHE_DIR == _numba_cache.chosen == str(_numba_cache.default_cache_dir())
    _numba_cache.restore()
    assert config.CACHE_DIR == ""


def test_every_cached_kernel_of_the_package_uses_the_chosen_directory():
    # A kernel module imported only after hocert_solver/__init__.py restored Numba's setting
    # would put its cache next to the source again: import every submodule and look.
    if _numba_cache.chosen is None:
        pytest.skip("no writable cache directory here: Numba's default is in use")
    package_dir = Path(hocert_solver.__file__).parent
    checked = 0
    for info in pkgutil.iter_modules(hocert_solver.__path__, "hocert_solver."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if not isinstance(obj, Dispatcher) or obj.py_func.__module__ != info.name:
                continue
            cache_path = getattr(obj._cache, "_cache_path", None)
            assert cache_path is not None, f"{info.name}.{name} is not cached (cache=True)"
            assert Path(cache_path).is_relative_to(_numba_cache.chosen), (info.name, name)
            assert not Path(cache_path).is_relative_to(package_dir), (info.name, name)
            checked += 1
    assert checked > 50


def test_importing_the_package_leaves_numbas_setting_as_it_was(tmp_path):
    env = _clean_env(tmp_path)
    env["PYTHONPATH"] = str(Path(hocert_solver.__file__).parent.parent)
    code = (
        "from numba.core import config\n"
        "import hocert_solver\n"
        "from hocert_solver import _numba_cache\n"
        "print(repr(config.CACHE_DIR))\n"
        "print(_numba_cache.chosen)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    setting, chosen = out.stdout.splitlines()
    assert setting == "''"
    assert Path(chosen).is_relative_to(tmp_path / "cache") or Path(chosen).is_relative_to(
        tmp_path / "home"
    )


# ---------------------------------------------------------------------------------------------
# Issue #13 end to end: pip install . -> run -> pip install -e . -> run from elsewhere
# ---------------------------------------------------------------------------------------------


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a child Python: per-user caches under ``tmp_path``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        LOCALAPPDATA=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
        USERPROFILE=str(tmp_path / "home"),
    )
    return env


def _outer_site_dirs() -> list[str]:
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    dirs.append(sysconfig.get_paths()["platlib"])
    seen: list[str] = []
    for d in dirs:
        if os.path.isdir(d) and d not in seen:
            seen.append(d)
    return seen


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out


def _nb_files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.suffix in (".nbi", ".nbc")]


@pytest.mark.slow
def test_reinstalling_as_editable_after_a_regular_install_works(tmp_path):
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("needs the source tree")
    outer = _outer_site_dirs()
    if any((Path(d) / pkg).exists() for d in outer for pkg in ("hocert_solver", "hocert_sampling")):
        pytest.skip("hocert is installed non-editable here; it would shadow the test's install")

    src = tmp_path / "src"
    not_source = (".git", "build", "dist", "*.egg-info", "__pycache__", "*.nbi", "*.nbc")
    not_source += (".*_cache", ".hypothesis", ".benchmarks", "tmp")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*not_source))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    # A fresh venv that sees this environment's dependencies (and pip) as plain path entries:
    # their .pth files, among them an editable install of hocert, are not processed.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = str(bindir / ("python.exe" if os.name == "nt" else "python"))
    paths = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    venv_site = Path(paths.stdout.strip())
    (venv_site / "_outer_environment.pth").write_text("\n".join(outer) + "\n")
    env = _clean_env(tmp_path)
    pip = [python, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check"]

    _run([*pip, "."], cwd=src, env=env)
    code = (
        "import hocert_solver\n"
        "from hocert_solver._normal import norm_mass\n"  # compiles and caches one kernel
        "print(hocert_solver.__file__)\n"
        "print(norm_mass(0.1, 0.5))\n"
    )
    out = _run([python, "-c", code], cwd=elsewhere, env=env)
    installed = Path(out.stdout.splitlines()[0]).parent
    assert installed == venv_site / "hocert_solver"
    assert _nb_files(installed) == []
    assert _nb_files(tmp_path / "cache") or _nb_files(tmp_path / "home")

    # pip uninstalls the regular install first: nothing of it may stay behind.
    _run([*pip, "-e", "."], cwd=src, env=env)
    assert not (venv_site / "hocert_solver").exists()
    assert not (venv_site / "hocert_sampling").exists()

    hocert = shutil.which("hocert", path=str(bindir))
    assert hocert is not None
    out = _run([hocert, "--version"], cwd=elsewhere, env=env)
    assert out.stdout.startswith("hocert ")
    code = "import hocert_solver\nfrom hocert_solver import STATUS_NAMES\n"
    code += "print(hocert_solver.__file__)"
    out = _run([python, "-c", code], cwd=elsewhere, env=env)
    assert Path(out.stdout.strip()) == src / "hocert_solver" / "__init__.py"
