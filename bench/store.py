"""The results database (DuckDB): schema, run provenance and one committed row per case."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

SCHEMA_VERSION = 1

RUN_COLUMNS = {
    "run_id": "VARCHAR PRIMARY KEY", "started_at": "TIMESTAMP", "finished_at": "TIMESTAMP",
    "exit_status": "INTEGER", "git_commit": "VARCHAR", "git_dirty": "BOOLEAN",
    "command": "VARCHAR", "host": "VARCHAR", "platform": "VARCHAR", "cpu": "VARCHAR",
    "cpu_count": "INTEGER", "gpu": "VARCHAR", "python": "VARCHAR", "torch": "VARCHAR",
    "torchvision": "VARCHAR", "bench_version": "VARCHAR", "workers": "INTEGER",
    "device": "VARCHAR",
}

RESULT_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "case_id": "VARCHAR",
    "status": "VARCHAR NOT NULL", "error": "VARCHAR",
    "method": "VARCHAR", "method_hash": "VARCHAR", "dataset": "VARCHAR", "arch": "VARCHAR",
    "ratio": "DOUBLE", "seed": "INTEGER", "pretrain_seed": "INTEGER",
    "include_classifier": "BOOLEAN", "calibration_size": "INTEGER",
    "pretrained_key": "VARCHAR", "pretrain_recipe": "VARCHAR", "pretrain_recipe_key": "VARCHAR",
    "finetune_recipe": "VARCHAR", "recipe_key": "VARCHAR", "keep_fraction": "DOUBLE",
    "pruned_weights_zero": "BOOLEAN",
    "top1": "DOUBLE", "top5": "DOUBLE", "loss": "DOUBLE", "eval_examples": "INTEGER",
    "top1_dense": "DOUBLE", "top5_dense": "DOUBLE",
    "params_total": "BIGINT", "params_nonzero": "BIGINT", "compression": "DOUBLE",
    "sparsity": "DOUBLE", "macs_total": "BIGINT", "macs_nonzero": "BIGINT",
    "speedup_theoretical": "DOUBLE", "latency_ms": "DOUBLE", "latency_iqr_ms": "DOUBLE",
    "latency_dense_ms": "DOUBLE", "speedup_measured": "DOUBLE", "latency_parallel": "BOOLEAN",
    "params_dense": "BIGINT", "macs_dense": "BIGINT", "macs_other": "BIGINT",
    "activations_total": "BIGINT", "activations_nonzero": "DOUBLE",
    "latency_runs": "INTEGER", "latency_dense_iqr_ms": "DOUBLE", "latency_dense_runs": "INTEGER",
    "latency_batch_size": "INTEGER", "latency_batch_ms": "DOUBLE",
    "latency_batch_iqr_ms": "DOUBLE", "latency_batch_runs": "INTEGER",
    "latency_dense_batch_ms": "DOUBLE", "latency_dense_batch_iqr_ms": "DOUBLE",
    "latency_dense_batch_runs": "INTEGER", "speedup_measured_batch": "DOUBLE",
    "device": "VARCHAR", "threads": "INTEGER", "started_at": "TIMESTAMP",
    "duration_s": "DOUBLE", "extra": "JSON",
}

LAYER_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "layer": "VARCHAR NOT NULL",
    "kind": "VARCHAR", "pruned": "BOOLEAN", "params": "BIGINT", "nonzero": "BIGINT",
    "sparsity": "DOUBLE", "macs": "BIGINT", "macs_nonzero": "BIGINT",
}

EPOCH_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "epoch": "INTEGER NOT NULL",
    "train_loss": "DOUBLE", "train_top1": "DOUBLE", "lr": "DOUBLE",
}


class StoreLockedError(RuntimeError):
    """Another process holds the database open for writing."""


def _create(table: str, columns: dict[str, str], key: str) -> str:
    cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols}{', ' + key if key else ''})"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database, turning DuckDB's lock error into one that says what to do."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"results database {path} is locked by another process ({exc}). Wait for that "
                "run to finish, or write this one elsewhere with --bench-db OTHER.duckdb "
                "(python -m bench merge can combine them later)"
            ) from None
        raise


class Store:
    """Writer of the results database; one per pytest session, on the controller only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = connect(self.path)
        self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create missing tables; record the schema version."""
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute(_create("runs", RUN_COLUMNS, ""))
        con.execute(_create("results", RESULT_COLUMNS, "PRIMARY KEY (run_id, nodeid)"))
        con.execute(_create("layers", LAYER_COLUMNS, "PRIMARY KEY (run_id, nodeid, layer)"))
        con.execute(_create("epochs", EPOCH_COLUMNS, "PRIMARY KEY (run_id, nodeid, epoch)"))
        con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def start_run(self, run: dict) -> None:
        """Record a new run (one pytest session)."""
        self._insert("runs", RUN_COLUMNS, run)

    def finish_run(self, run_id: str, finished_at, exit_status: int) -> None:
        """Stamp the run's end time and exit status."""
        self.con.execute("UPDATE runs SET finished_at = ?, exit_status = ? WHERE run_id = ?",
                         [finished_at, exit_status, run_id])

    def write_case(self, row: dict) -> None:
        """Insert one case with its layers and epochs, committed at once."""
        key = {"run_id": row["run_id"], "nodeid": row["nodeid"]}
        self.con.begin()
        try:
            for table in ("results", "layers", "epochs"):
                self.con.execute(f"DELETE FROM {table} WHERE run_id = ? AND nodeid = ?",
                                 [key["run_id"], key["nodeid"]])
            self._insert("results", RESULT_COLUMNS, row)
            for layer in row.get("layers") or []:
                self._insert("layers", LAYER_COLUMNS, key | {
                    "layer": layer["name"], "kind": layer["kind"], "pruned": layer.get("pruned"),
                    "params": layer["weight_numel"], "nonzero": layer["weight_nonzero"],
                    "sparsity": layer["sparsity"], "macs": layer["macs"],
                    "macs_nonzero": layer["macs_nonzero"]})
            for epoch in row.get("epochs") or []:
                self._insert("epochs", EPOCH_COLUMNS, key | epoch)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _insert(self, table: str, columns: dict[str, str], row: dict) -> None:
        names = [c for c in columns if c in row]
        values = [row[c] if c != "extra" else json.dumps(row[c]) for c in names]
        marks = ", ".join("?" for _ in names)
        self.con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)

    def close(self) -> None:
        """Close the connection (every case is already committed)."""
        self.con.close()
