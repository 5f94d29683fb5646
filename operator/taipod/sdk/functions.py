"""How a task function reaches the task pod: by name, or by value (decisions, "Task functions").

A function is referenced as ``module:qualname`` (a builtin by its bare name) when the task image can import it:
the standard library, installed distributions, taipod itself, and the modules declared importable in the image
(``Config.configure_cluster(image_modules=[...])`` or ``TAIPOD_IMAGE_MODULES``). Anything else -- a function of the
user's script (``__main__``), a lambda, a nested function, a module of the user's project -- is shipped by value:
cloudpickle bytes, which the runner loads (with the same Python version).
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
import sysconfig
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taipod.core.dag import SpecError, parse_function_ref
from taipod.sdk.errors import ConfigurationError, FunctionNotShippableError

__all__ = [
    "MAX_PICKLED_BYTES",
    "ShippedFunction",
    "display_name",
    "pickle_function",
    "python_version",
    "reference",
    "resolve",
]

MAX_PICKLED_BYTES = 900 * 1024
"""All of a scenario's pickled functions share one ConfigMap, limited to 1 MiB by Kubernetes."""

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class ShippedFunction:
    """A function shipped by value: what goes in the task spec and in the ConfigMap."""

    display: str
    payload: bytes
    python_version: str


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _installed_roots() -> list[Path]:
    roots = []
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.append(Path(path).resolve())
    return roots


def _is_installed(module: types.ModuleType) -> bool:
    """Part of the standard library or of an installed distribution (not the user's project directory)."""
    file = getattr(module, "__file__", None)
    if file is None:
        return True  # builtin or frozen
    path = Path(file).resolve()
    return any(path.is_relative_to(root) for root in _installed_roots())


def _lookup(module_name: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def reference(function: Callable[..., Any] | str, image_modules: Iterable[str] = ()) -> str | None:
    """``"module:qualname"`` (or a builtin's name) if the task image can import ``function``, else None.

    A string is taken as a reference and only checked for syntax (it may name a module that exists in the image
    only). Raises ``ConfigurationError`` for a malformed string.
    """
    if isinstance(function, str):
        try:
            return str(parse_function_ref(function)) if ":" in function else parse_function_ref(function).qualname
        except SpecError as exc:
            raise ConfigurationError(exc.message) from None
    module_name = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module_name or not qualname or module_name == "__main__" or "<" in qualname:
        return None
    if module_name == "builtins":
        return qualname if getattr(builtins, qualname, None) is function else None
    try:
        if _lookup(module_name, qualname) is not function:
            return None
    except (ImportError, AttributeError):
        return None
    top = module_name.split(".")[0]
    if top == "taipod" or top in set(image_modules):
        return f"{module_name}:{qualname}"
    module = sys.modules.get(module_name)
    if module is not None and _is_installed(module):
        return f"{module_name}:{qualname}"
    return None


def display_name(function: Callable[..., Any]) -> str:
    """``__main__:<qualname>`` for the task spec of a function shipped by value (made a valid dotted name)."""
    qualname = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or "function"
    parts = [_NOT_IDENTIFIER.sub("_", part) or "_" for part in str(qualname).split(".")]
    parts = [f"_{part}" if part[0].isdigit() else part for part in parts]
    return "__main__:" + ".".join(parts)


def pickle_function(function: Callable[..., Any]) -> ShippedFunction:
    """cloudpickle ``function`` by value, including when it lives in an importable module of the user's project."""
    import cloudpickle  # noqa: PLC0415 (only the SDK pickles; keep it out of `import taipod`)

    module_name = getattr(function, "__module__", None)
    module = sys.modules.get(module_name) if module_name and module_name != "__main__" else None
    registered = False
    if module is not None:
        try:
            cloudpickle.register_pickle_by_value(module)
            registered = True
        except ValueError:
            registered = False  # e.g. a module not in sys.modules under that name
    try:
        payload = cloudpickle.dumps(function)
    except Exception as exc:
        raise FunctionNotShippableError(
            f"the task function {display_name(function)} cannot be shipped by value: cloudpickle failed ({exc}). "
            "Fix: make it a module-level function whose globals can be pickled, or put it in a module installed in "
            "the task image and name it 'module:qualname'"
        ) from exc
    finally:
        if registered and module is not None:
            cloudpickle.unregister_pickle_by_value(module)
    return ShippedFunction(display=display_name(function), payload=payload, python_version=python_version())


def resolve(text: str) -> Callable[..., Any] | str:
    """The callable named by a task spec's function, when importable here; else the reference string itself."""
    try:
        ref = parse_function_ref(text)
    except SpecError:
        return text
    if ref.module == "__main__":
        return text
    try:
        found = _lookup(ref.module, ref.qualname)
    except (ImportError, AttributeError):
        return text
    return found if callable(found) else text
