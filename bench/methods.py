"""Method registry: every `methods/<name>.py` defining `prune(model, compression, ctx)` is a method."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from bench.errors import BenchError

NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
# What a method's masks mean: any weights, N-of-every-M along the input channels, or whole
# output channels (which the bench removes physically).
KINDS = ("unstructured", "nm", "channel")
PruneFn = Callable[..., dict]


TASKS = ("classification", "lm")  # what a method runs on unless it declares TASKS


@dataclass
class Method:
    """A method file: its name, description, source hash and either `prune` or the load error."""

    name: str
    path: Path
    source_hash: str
    description: str = ""
    prune: PruneFn | None = None
    error: str | None = None
    attributes: dict = field(default_factory=dict)  # upper-case module constants, e.g. KIND

    @property
    def kind(self) -> str:
        """The declared KIND (default unstructured)."""
        return self.attributes.get("KIND", "unstructured")

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks the method can run (TASKS; default: classification and lm)."""
        return tuple(self.attributes.get("TASKS", TASKS))

    @property
    def ok(self) -> bool:
        """True when the file imported and defines a callable `prune`."""
        return self.error is None and self.prune is not None


class BrokenMethodError(BenchError, RuntimeError):
    """A method file that could not be loaded; carries the original traceback text."""


def methods_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder of method files: explicit value, else $BENCH_METHODS, else ./methods."""
    return Path(explicit or os.environ.get("BENCH_METHODS", "methods")).resolve()


def discover(folder: str | os.PathLike | None = None) -> dict[str, Method]:
    """Load every method file in `folder`; a file that fails is kept with its error, never raised.
    A file is imported once per process and source version (cached by path and hash)."""
    folder = methods_dir(folder)
    found: dict[str, Method] = {}
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        if path.name.startswith("_"):
            continue  # shared helpers, not methods
        key = (str(path), source_hash(path))
        if key not in _CACHE:
            _CACHE[key] = _make(path, key[1], folder)
        found[path.stem] = _CACHE[key]
    return found


_CACHE: dict[tuple[str, str], Method] = {}
_HELPER_IMPORT = re.compile(rb"^\s*(?:from|import)\s+(_\w+)", re.MULTILINE)


def source_hash(path: Path) -> str:
    """12 hex digits of SHA-256 over the method file and the `_` helper files of its folder that it
    imports by name, so a result changes version when the code that produced it does."""
    source = path.read_bytes()
    digest = hashlib.sha256(source)
    for helper in sorted(set(_HELPER_IMPORT.findall(source))):
        helper_path = path.parent / f"{helper.decode()}.py"
        if helper_path.is_file():
            digest.update(b"\0" + helper + b"\0" + helper_path.read_bytes())
    return digest.hexdigest()[:12]


def _make(path: Path, digest: str, folder: Path) -> Method:
    method = Method(path.stem, path, digest)
    if not NAME_PATTERN.match(method.name):
        method.error = (f"file name {path.name!r} is not a valid method name: use lower-case "
                        "letters, digits and underscores ([a-z0-9_]+), e.g. "
                        f"{re.sub(r'[^a-z0-9_]', '_', path.stem.lower())}.py")
    else:
        _load(method, folder)
    return method


def _load(method: Method, folder: Path) -> None:
    try:
        module = _import(method.path, folder)
    except Exception as exc:  # a method's import error must not reach the suite
        method.error = f"{method.path.name} failed to import:\n{_traceback_from(exc, method.path)}"
        return
    except SystemExit as exc:
        method.error = f"{method.path.name} called sys.exit({exc.code}) on import"
        return
    method.description = ((module.__doc__ or "").strip().splitlines() or [""])[0]
    prune = getattr(module, "prune", None)
    if not callable(prune):
        method.error = (f"{method.path.name} defines no function "
                        "prune(model, compression, ctx) -> dict[str, Tensor]")
        return
    try:
        inspect.signature(prune).bind(None, 1.0, None)
    except TypeError as exc:
        method.error = (f"{method.path.name}: prune must accept (model, compression, ctx), "
                        f"but its signature is prune{inspect.signature(prune)} ({exc})")
        return
    except ValueError:
        pass  # builtins without a signature: let the call decide
    attributes = {k: v for k, v in vars(module).items() if k.isupper()}
    kind = attributes.get("KIND", "unstructured")
    if kind not in KINDS:
        method.error = (f"{method.path.name}: KIND = {kind!r} is not a kind of pruning the bench "
                        f"knows; use one of {', '.join(KINDS)}")
        return
    method.prune, method.attributes = prune, attributes


def _traceback_from(exc: BaseException, path: Path) -> str:
    """The traceback of `exc` from the method file's first frame on (the loader's frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename) != path:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def _import(path: Path, folder: Path) -> ModuleType:
    name = f"bench_methods.{path.stem}"
    if str(folder) not in sys.path:  # lets methods `import _helpers` siblings; appended, so a
        sys.path.append(str(folder))  # method file never shadows a standard module (random.py)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
