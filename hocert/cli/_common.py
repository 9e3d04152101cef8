"""What every ``hocert`` command shares: exit codes, ``CliError``, the parser class, argument
types, and small output helpers. No rule of the libraries is restated here."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hocert._errors import HocertError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TEXT",
    "EXIT_USAGE",
    "CliError",
    "Parser",
    "add_command",
    "add_out",
    "byte_size",
    "check_figure",
    "check_writable",
    "comma_separated",
    "finite_float",
    "float_list",
    "grid",
    "hold_lock",
    "int_at_least",
    "json_number",
    "nonneg_float",
    "positive_float",
    "print_json",
    "probability",
    "progress",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_TEXT = """exit codes:
  0    success
  1    runtime failure (model error, Dask failure, ...)
  2    usage error or bad input (paths, shapes, values, mismatched resume)
  130  interrupted (Ctrl-C); finished rows and chunks are kept"""


class CliError(HocertError):
    """An error reported as one line on stderr, with an exit code (2: bad input, 1: failure)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------
# Argument types (argparse turns their ValueError/ArgumentTypeError into a usage error, exit 2)
# ---------------------------------------------------------------------------------------------


def finite_float(text: str) -> float:
    """A finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    """A finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """A number in (0, 1)."""
    value = finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {text!r}")
    return value


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6}
_UNITS.update({"mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tib": 2**40})


def byte_size(text: str) -> int:
    """A number of bytes > 0: ``1073741824``, ``512MiB``, ``2GB``, ``1.5GiB``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size in bytes (e.g. 512MiB, 2GB): {text!r}")
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return value


def comma_separated(text: str, what: str) -> list[float]:
    """``v1,v2,...`` as numbers (empty items skipped); an ``ArgumentTypeError`` that calls them
    ``what`` when one is not a number. The argument types check the values."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of {what}: {text!r}"
        ) from None


def float_list(text: str) -> list[float]:
    """``v1,v2,...``: finite numbers >= 0."""
    values = comma_separated(text, "numbers")
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise argparse.ArgumentTypeError(f"need finite numbers >= 0, got {text!r}")
    return values


def grid(text: str) -> np.ndarray:
    """``v1,v2,...`` or ``start:stop:num`` (num points from start to stop inclusive)."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            count = int(num)
            if count < 1:
                raise ValueError
            values = np.linspace(float(start), float(stop), count)
        else:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"grid must be 'v1,v2,...' or 'start:stop:num', got {text!r}"
        ) from None
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"grid must hold finite numbers, got {text!r}")
    return values


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help layout of every ``hocert`` command (descriptions and epilogs kept as written)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


# What argparse should take for a value rather than an option: negative numbers, -0.6 and -3
# (as argparse does by itself) and also -1e-3, -.5 and -inf (which argparse < 3.13 takes for
# unknown options), and lists and grids that start with one, -1:1:21 and -1,0,1.
_NUMBER = r"(\d+\.?\d*|\.\d+)(e[-+]?\d+)?|inf|infinity|nan"
_NEGATIVE_VALUE = re.compile(rf"^-({_NUMBER})([:,][-+.\deinfaty]*)*$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with the conventions of ``hocert`` (every subparser too).

    No abbreviated options (``--sig`` is not ``--sigma``); negative numbers such as ``-1e-3``
    and ``-inf``, and grids such as ``-1:1:21``, are values; an unknown option is reported by
    the parser of the (sub)command it was given to, with that command's usage and a close
    match if any.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:  # here, not in the top-level parser: the usage shown is this command's
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._suggest(extras)}")
        return parsed, extras

    def _suggest(self, extras: list[str]) -> str:
        import difflib

        names = [o[2:] for o in self._option_string_actions if o.startswith("--")]
        for extra in extras:
            if extra.startswith("--"):
                close = difflib.get_close_matches(extra[2:].split("=", 1)[0], names, n=1)
                if close:
                    return f" (did you mean --{close[0]}?)"
        return ""


def add_command(
    sub: Any, name: str, help_text: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A (sub)command parser with ``examples`` and the exit codes in its epilog."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=f"examples:\n{examples}\n\n{EXIT_TEXT}",
        formatter_class=Formatter,
    )
    return parser


def add_out(parser: argparse.ArgumentParser, default: str, what: str = "") -> None:
    """``--out FILE``, the file a command writes: ``default`` unless given, shown in the help
    after ``what``."""
    parser.add_argument(
        "--out", metavar="FILE", default=default, help=f"{what} ({default})".lstrip()
    )


# ---------------------------------------------------------------------------------------------
# Files and output
# ---------------------------------------------------------------------------------------------


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path, exit 2 when its directory is missing or it is a directory."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"cannot write {what} {p}: directory {parent} does not exist")
    if p.is_dir():
        raise CliError(f"cannot write {what} {p}: it is a directory")
    return p


def hold_lock(path: str | os.PathLike[str], what: str) -> Any:
    """The exclusive lock of ``path`` for this run (``hocert.locking.FileLock``, acquired):
    exit 2 when another run holds it (the message names the holder) or it cannot be written."""
    from hocert.locking import FileLock, LockHeld

    try:
        return FileLock(path, what).acquire()
    except LockHeld as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def check_figure(path: str) -> Path:
    """A writable figure path with a format the plots can write (exit 2 otherwise)."""
    from hocert.plotting import check_figure_path

    try:
        check_figure_path(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return check_writable(path, "figure")


def json_number(value: float) -> float | str:
    """JSON has no inf/nan: they are written as the strings "inf", "-inf", "nan"."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def print_json(data: dict[str, Any]) -> None:
    """``data`` as indented JSON on stdout."""
    print(json.dumps(data, indent=2, allow_nan=False))


def progress(total: int, initial: int, desc: str, quiet: bool) -> Any:
    """A progress bar on stderr (disabled with ``quiet``)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="input" if desc == "certify" else "chunk",
        file=sys.stderr,
        disable=quiet,
        dynamic_ncols=True,
    )
