"""Options shared by the pytest plugin and the command line: where the cache and the data live."""

from __future__ import annotations

from collections.abc import Callable

# flag -> keyword arguments, valid both for argparse's add_argument and pytest's addoption
SHARED_OPTIONS: dict[str, dict] = {
    "--bench-cache": {"default": None, "metavar": "DIR",
                      "help": "pretrained-model cache (default: $BENCH_CACHE or ~/.cache/prunebench)"},
    "--bench-data": {"default": None, "metavar": "DIR",
                     "help": "root of on-disk datasets (default: $BENCH_DATA or ~/data)"},
}


def add_options(add: Callable[..., object], *names: str) -> None:
    """Declare the shared options `names` (all of them by default) with `add`
    (an argparse parser's add_argument or a pytest option group's addoption)."""
    for flag in names or SHARED_OPTIONS:
        add(flag, **SHARED_OPTIONS[flag])
