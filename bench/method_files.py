"""Method files read without importing them (so without torch): name, description, constants and
whether `prune(model, compression, ctx)` is defined. Import errors need `discover`, which imports."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from bench.methods import KINDS, NAME_PATTERN, Method, methods_dir, source_hash


def read_all(folder: str | os.PathLike | None = None) -> dict[str, Method]:
    """Every method file of `folder`, read statically; a file that fails a check keeps its error."""
    folder = methods_dir(folder)
    return {p.stem: read(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")} \
        if folder.is_dir() else {}


def read(path: Path) -> Method:
    """One method file parsed, never executed: `prune` stays None; `error` says what is wrong."""
    method = Method(path.stem, path, source_hash(path))
    if not NAME_PATTERN.match(method.name):
        method.error = (f"file name {path.name!r} is not a valid method name: use lower-case "
                        "letters, digits and underscores ([a-z0-9_]+)")
        return method
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        method.error = f"{path.name} does not parse: {exc}"
        return method
    method.description = ((ast.get_docstring(tree) or "").strip().splitlines() or [""])[0]
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper():
            try:
                method.attributes[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                method.attributes[node.targets[0].id] = ast.unparse(node.value)
    prune = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "prune"), None)
    if prune is None:
        method.error = (f"{path.name} defines no function "
                        "prune(model, compression, ctx) -> dict[str, Tensor]")
    elif len(prune.args.posonlyargs + prune.args.args) < 3 and prune.args.vararg is None:
        method.error = f"{path.name}: prune must accept (model, compression, ctx)"
    elif method.kind not in KINDS:
        method.error = (f"{path.name}: KIND = {method.kind!r} is not a kind of pruning the bench "
                        f"knows; use one of {', '.join(KINDS)}")
    return method
