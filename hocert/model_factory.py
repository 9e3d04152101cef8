"""Models named by ``package.module:factory`` (``hocert certify --model``), beside ``.onnx`` files.

A factory is a function that returns the model as a callable, ``batch -> scores (N, K) or
labels (N,)`` (``hocert_sampling.models.CallableModel``). It is called with no arguments, or
with those of its keyword arguments that the run supplies:

- ``backend``: ``"numpy"`` or ``"cupy"``, the array type the callable will receive (float32,
  shape ``(N, *input_shape)``), passed when the factory has a parameter of that name (or
  ``**kwargs``);
- the user's ``--model-arg KEY=VALUE`` pairs (``model_args``), as strings.

The module is imported from ``sys.path`` and, like ``python -m``, from the current directory.
Only the spec travels (to a Dask worker, or into the result file's sidecar): a worker imports
the module itself, so it must be importable there too. Noise is added in the model's input
space, so any input normalisation belongs inside the returned callable.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import HocertError

__all__ = ["ModelFactory", "ModelSpecError", "is_factory_spec"]

_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_SPEC = re.compile(rf"^({_NAME}):({_NAME})$")


class ModelSpecError(HocertError, ValueError):
    """A ``module:factory`` spec that cannot give a model: a malformed spec, a module that cannot
    be imported, a missing attribute, a factory that fails or returns no callable."""


def is_factory_spec(text: str | os.PathLike[str]) -> bool:
    """Whether ``text`` names a factory (``package.module:function``) rather than a model file:
    it has that form, does not end in ``.onnx`` and is not an existing file."""
    if not isinstance(text, str) or text.lower().endswith(".onnx"):
        return False
    return bool(_SPEC.match(text)) and not os.path.exists(text)


@contextlib.contextmanager
def _current_directory_importable() -> Iterator[None]:
    """The current directory on ``sys.path`` (first, as ``python -m`` puts it) while importing."""
    cwd = os.getcwd()
    if "" in sys.path or cwd in sys.path:
        yield
        return
    sys.path.insert(0, cwd)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)


@dataclass(frozen=True)
class ModelFactory:
    """A model named by ``module:factory`` plus the keyword arguments for the factory.

    Parameters
    ----------
    spec : str
        ``package.module:function`` (the function may be a dotted attribute, ``mod:Class.build``).
    args : tuple of (str, str)
        ``--model-arg`` pairs passed to the factory as keyword arguments (sorted by key).

    The object is small and picklable: it is what a Dask task carries.
    """

    spec: str
    args: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, spec: str, args: Mapping[str, str] | None = None) -> ModelFactory:
        """Check the form of ``spec`` and the argument names (:class:`ModelSpecError`)."""
        if not _SPEC.match(str(spec)):
            raise ModelSpecError(f"model spec {spec!r} is not of the form package.module:function")
        pairs = tuple(sorted((str(k), str(v)) for k, v in (args or {}).items()))
        for key, _ in pairs:
            if not key.isidentifier() or key == "backend":
                raise ModelSpecError(
                    f"model argument {key!r} is not a keyword argument name"
                    + (" ('backend' is passed by hocert)" if key == "backend" else "")
                )
        return cls(spec, pairs)

    @property
    def module(self) -> str:
        """The module part of the spec."""
        return self.spec.partition(":")[0]

    @property
    def attribute(self) -> str:
        """The attribute part of the spec (the factory)."""
        return self.spec.partition(":")[2]

    def describe(self) -> str:
        """The spec with its arguments, e.g. ``pkg.nets:build(checkpoint='w.pt')``."""
        if not self.args:
            return self.spec
        return f"{self.spec}({', '.join(f'{k}={v!r}' for k, v in self.args)})"

    def as_params(self) -> dict[str, Any]:
        """The sidecar parameters that identify the model (compared on resume)."""
        return {"model_factory": self.spec, "model_args": dict(self.args)}

    def factory(self) -> Callable[..., Any]:
        """Import the module and return the factory (:class:`ModelSpecError` on failure)."""
        name = self.module
        with _current_directory_importable():
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                missing = exc.name or ""
                if missing and (name == missing or name.startswith(missing + ".")):
                    raise ModelSpecError(
                        f"cannot import {name!r} (model {self.spec}): no module named "
                        f"{missing!r} on sys.path or in the current directory "
                        f"({os.getcwd()})"
                    ) from None
                raise ModelSpecError(
                    f"importing {name!r} (model {self.spec}) failed: {exc}"
                ) from None
            except Exception as exc:
                raise ModelSpecError(
                    f"importing {name!r} (model {self.spec}) raised {type(exc).__name__}: {exc}"
                ) from None
        obj: Any = module
        for part in self.attribute.split("."):
            if not hasattr(obj, part):
                raise ModelSpecError(
                    f"module {name!r} ({getattr(module, '__file__', None) or 'no file'}) has no "
                    f"attribute {self.attribute!r} (model {self.spec})"
                )
            obj = getattr(obj, part)
        if not callable(obj):
            raise ModelSpecError(
                f"{self.spec} is a {type(obj).__name__}, not a function that returns a model"
            )
        return obj

    def _kwargs(self, factory: Callable[..., Any], backend: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(self.args)
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # a builtin without a signature: user arguments only
            return kwargs
        params = signature.parameters
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if "backend" in params or var_kw:
            kwargs["backend"] = backend
        try:
            signature.bind(**kwargs)
        except TypeError as exc:
            raise ModelSpecError(
                f"{self.spec}{signature} cannot be called with "
                f"{', '.join(kwargs) or 'no arguments'}: {exc}"
            ) from None
        return kwargs

    def load(self, backend: str = "numpy") -> Callable[[Any], Any]:
        """Import the module, call the factory and return the model callable.

        Parameters
        ----------
        backend : str
            ``"numpy"`` or ``"cupy"``: passed as ``backend=`` to a factory that takes it.

        Raises
        ------
        ModelSpecError
            The module cannot be imported, has no such attribute, the factory cannot take the
            arguments, raises, or returns something that is not callable.
        """
        factory = self.factory()
        kwargs = self._kwargs(factory, backend)
        with _current_directory_importable():
            try:
                model = factory(**kwargs)
            except Exception as exc:
                raise ModelSpecError(
                    f"{self.describe()} raised {type(exc).__name__}: {exc}"
                ) from None
        if not callable(model):
            raise ModelSpecError(
                f"{self.describe()} returned a {type(model).__name__}, not a callable model "
                "(batch -> scores (N, K) or labels (N,))"
            )
        return model
