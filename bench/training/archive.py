"""Moving cached weights between machines: entries (weights, metadata, checkpoints) into one tar
archive, and back into a cache with every sha256 verified before anything is written."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from pathlib import Path

from bench.errors import InvalidValueError, MissingFileError
from bench.training.cache import KEY, WeightsCache, atomic_write

FILES = ("weights.pt", "meta.json")
MEMBER = re.compile(f"(?P<key>{KEY.pattern})/(?P<file>{'|'.join(map(re.escape, FILES))})")


class DamagedArchiveError(InvalidValueError):
    """An archive entry whose weights do not match its recorded sha256, or an unsafe member."""


def select(cache: WeightsCache, keys=None, datasets=None, archs=None, seeds=None) -> list[str]:
    """Keys of the entries of any kind chosen by key or by dataset, arch and seed (None: any),
    followed by the checkpoints of each chosen model (entries whose `pretrained` is a chosen key);
    a checkpoint is chosen with its model, or by its own key."""
    metas = cache.entries()
    chosen = [m["key"] for m in metas if ("pretrained" not in m or (keys and m["key"] in keys))
              and (not keys or m["key"] in keys) and (not datasets or m.get("dataset") in datasets)
              and (not archs or m.get("arch") in archs) and (not seeds or m.get("seed") in seeds)]
    unknown = sorted(set(keys or ()) - {m["key"] for m in metas})
    if unknown:
        raise MissingFileError(f"no cache entry {', '.join(unknown)} in {cache.root} "
                               "(python -m bench zoo lists them)")
    return list(dict.fromkeys(chosen + [m["key"] for m in metas if m.get("pretrained") in chosen]))


def export_entries(cache: WeightsCache, keys: list[str], path: str | Path) -> int:
    """Write the entries `keys` (each checked against its sha256) to a tar archive; their count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for key in keys:
        if not cache.intact(key, cache.meta(key) or {}):
            raise DamagedArchiveError(f"cache entry {key} is damaged or incomplete; remake it "
                                      "(python -m bench zoo pretrain) before exporting it")

    def write(f) -> None:
        with tarfile.open(fileobj=f, mode="w") as tar:
            for key in keys:
                for name, file in zip(FILES, cache.paths(key), strict=True):
                    tar.add(str(file), arcname=f"{key}/{name}", recursive=False)

    atomic_write(path, write)
    return len(keys)


def read_archive(path: str | Path) -> dict[str, dict[str, bytes]]:
    """Every entry of an archive as {key: {file: bytes}}, refusing unsafe members (links, paths
    outside an entry folder) and entries whose weights do not match their sha256, by name."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no archive at {path}")
    entries: dict[str, dict[str, bytes]] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar.getmembers():
                match = MEMBER.fullmatch(member.name)
                if member.isdir() and KEY.fullmatch(member.name):
                    continue
                if not (match and member.isfile()):
                    raise DamagedArchiveError(f"{path}: unsafe or unknown member {member.name!r} "
                                              "(only <key>/weights.pt and <key>/meta.json files)")
                data = tar.extractfile(member).read()
                entries.setdefault(match["key"], {})[match["file"]] = data
    except tarfile.TarError as exc:
        raise DamagedArchiveError(f"{path} is not a readable tar archive ({exc})") from None
    damaged = []
    for key, files in sorted(entries.items()):
        try:
            meta = json.loads(files["meta.json"])
            ok = meta.get("key") == key and meta.get("sha256") == hashlib.sha256(
                files["weights.pt"]).hexdigest()
        except (KeyError, ValueError):
            ok = False
        if not ok:
            damaged.append(key)
    if damaged:
        raise DamagedArchiveError(f"{path}: entries {', '.join(damaged)} are damaged (weights do not "
                                  "match their sha256, or a file is missing); nothing was imported")
    return entries


def import_entries(cache: WeightsCache, path: str | Path, replace: bool = False) -> dict[str, str]:
    """Put an archive's entries into the cache, all verified first (a damaged one: nothing is
    written); each file is written atomically, metadata last. An entry already cached with other
    weights is kept unless `replace`. Returns {key: 'imported' | 'present' | 'kept (differs)'}."""
    entries = read_archive(path)
    out = {}
    for key, files in sorted(entries.items()):
        new_sha = json.loads(files["meta.json"])["sha256"]
        with cache.lock(key):
            old = cache.meta(key)
            weights, meta = cache.paths(key)
            if old and cache.intact(key, old):
                if old["sha256"] == new_sha:
                    out[key] = "present"
                    continue
                if not replace:
                    out[key] = "kept (differs; --replace to overwrite)"
                    continue
            weights.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(weights, lambda f, b=files["weights.pt"]: f.write(b))
            atomic_write(meta, lambda f, b=files["meta.json"]: f.write(b))
            out[key] = "imported"
    return out


