"""Whether a results database can be read back whole; a damaged one is refused with what to do."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.errors import BenchError


class DamagedDatabaseError(BenchError, RuntimeError):
    """The results database file cannot be read back (truncated, overwritten, not DuckDB)."""


def damaged(path: str | Path, exc: BaseException | str, option: str = "--bench-db") -> DamagedDatabaseError:
    """The error for a damaged database at `path`: names the file, the cause and the way out."""
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    other = f", or use another file with {option} PATH" if option else ""
    return DamagedDatabaseError(
        f"results database {path} is damaged and cannot be read back ({cause}); move it aside "
        f"(mv {path} {path}.damaged) and run again to start a new one{other}")


class UnopenableDatabaseError(BenchError, OSError):
    """The results database cannot be opened for another reason than damage (permissions, a folder)."""


HEADER_BYTES = 3 * 4096  # DuckDB's file: a main header and two database headers, then the blocks
_DAMAGE = ("not a valid duckdb", "could not read", "corrupt", "checksum", "serializ", "magic")


def open_failed(path: str | Path, exc: BaseException, option: str = "--bench-db") -> BenchError:
    """The error for a database DuckDB could not open: damaged, or unopenable with the reason."""
    if any(word in str(exc).lower() for word in _DAMAGE):
        return damaged(path, exc, option)
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    other = f", or use another file with {option} PATH" if option else ""
    return UnopenableDatabaseError(f"cannot open results database {path} ({cause}); check the path "
                                   f"and its permissions{other}")


def check_readable(con: duckdb.DuckDBPyConnection, path: str | Path, option: str = "--bench-db",
                   catalog: str | None = None) -> None:
    """Check that the file holds every block DuckDB uses in it (free blocks at its end may have
    been cut off by a checkpoint, so they do not count), and read every value of every
    table once (hashed in DuckDB, nothing is copied out), so a truncated or overwritten file is
    found now, not when a finished case is written into it. `catalog`: an attached database."""
    try:
        block_size, blocks = con.execute(
            "SELECT block_size, used_blocks FROM pragma_database_size() "
            "WHERE database_name = coalesce(?, current_database())", [catalog]).fetchone() or (0, 0)
        need = HEADER_BYTES + block_size * blocks if blocks else 0
        size = Path(path).stat().st_size if Path(path).is_file() else None
        if size is not None and size < need:
            raise damaged(path, f"the file has {size:,} bytes, its {blocks} blocks and headers "
                                f"need {need:,}: it was cut short", option)
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = coalesce(?, current_database()) AND table_type = 'BASE TABLE'",
            [catalog]).fetchall()]
        prefix = f'"{catalog}".' if catalog else ""
        for table in tables:
            con.execute(f'SELECT bit_xor(hash(COLUMNS(*))) FROM {prefix}"{table}"').fetchall()
    except duckdb.Error as exc:
        raise damaged(path, exc, option) from None
