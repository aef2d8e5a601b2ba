"""Method registry: every `methods/<name>.py` defining `prune(model, compression, ctx)` is a method."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
PruneFn = Callable[..., dict]


@dataclass
class Method:
    """A method file: its name, description, source hash and either `prune` or the load error."""

    name: str
    path: Path
    source_hash: str
    description: str = ""
    prune: PruneFn | None = None
    error: str | None = None
    attributes: dict = field(default_factory=dict)  # upper-case module constants, e.g. STRUCTURED

    @property
    def ok(self) -> bool:
        """True when the file imported and defines a callable `prune`."""
        return self.error is None and self.prune is not None


class BrokenMethodError(RuntimeError):
    """A method file that could not be loaded; carries the original traceback text."""


def methods_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder of method files: explicit value, else $BENCH_METHODS, else ./methods."""
    return Path(explicit or os.environ.get("BENCH_METHODS", "methods")).resolve()


def discover(folder: str | os.PathLike | None = None) -> dict[str, Method]:
    """Load every method file in `folder`; a file that fails is kept with its error, never raised."""
    folder = methods_dir(folder)
    found: dict[str, Method] = {}
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        if path.name.startswith("_"):
            continue  # shared helpers, not methods
        source = path.read_bytes()
        method = Method(path.stem, path, hashlib.sha256(source).hexdigest()[:12])
        if not NAME_PATTERN.match(method.name):
            method.error = f"file name {path.name!r} is not a valid method name ([a-z0-9_]+)"
        elif method.name in found:
            method.error = f"method name {method.name!r} is defined twice"
        else:
            _load(method, folder)
        found.setdefault(method.name, method)
    return found


def _load(method: Method, folder: Path) -> None:
    try:
        module = _import(method.path, folder)
    except BaseException:  # a method's import error must not reach the suite
        method.error = f"{method.path.name} failed to import:\n{traceback.format_exc()}"
        return
    method.description = ((module.__doc__ or "").strip().splitlines() or [""])[0]
    prune = getattr(module, "prune", None)
    if not callable(prune):
        method.error = (f"{method.path.name} defines no function "
                        "prune(model, compression, ctx) -> dict[str, Tensor]")
        return
    method.prune = prune
    method.attributes = {k: v for k, v in vars(module).items() if k.isupper()}


def _import(path: Path, folder: Path) -> ModuleType:
    name = f"bench_methods.{path.stem}"
    if str(folder) not in sys.path:  # lets methods import their `_helpers` siblings
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def get(name: str, folder: str | os.PathLike | None = None) -> Method:
    """The method `name`; an unknown name is an error listing the valid ones."""
    found = discover(folder)
    if name not in found:
        raise KeyError(f"unknown method {name!r}; valid names: {', '.join(sorted(found))}")
    return found[name]
