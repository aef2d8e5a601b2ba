"""The one meaning of "the result of a case": the SQL of the `case_results` view.

A case's identity is its key (`case_key`; rows written before keys existed: the case id and the
conditions not in it) together with its version: the method's source (`method_hash`), the
pretrained weights (`pretrained_sha256`), both recipes' keys and the bench's version. Per
identity the view holds the latest *passed* row; a failure of the same case and method version
that came later is shown beside it (`later_status`, `later_error`, `later_run_id`), never
instead of it. A case that never passed is there by its latest failure. Each row says whether
its version is the current one of its setting (same method, dataset, architecture and
conditions): the current method source is that of the setting's latest attempt, and the current
version the latest passed one of that source (the latest attempt's if none passed); a failure of
the current source that never passed counts as current (it may lack the weights' hash, having
failed before loading them). So rows of different versions are never averaged together, and a
later failure never hides what passed.
"""

from __future__ import annotations

from bench.harness.case import CONDITION_KEYS, GROUP_KEYS

VIEW = "case_results"
# Columns the view reads from each table; a reader adds those an older file lacks as NULL.
RESULT_INPUTS = ("run_id", "nodeid", "status", "error", "started_at", "case_key", "case_id",
                 "method_hash", "pretrained_sha256", "pretrain_recipe_key", "recipe_key",
                 *GROUP_KEYS, *CONDITION_KEYS)
RUN_INPUTS = ("run_id", "started_at", "finished_at", "bench_version")
# Columns the view adds to those of `results`.
ADDED = ("run_started_at", "run_finished_at", "bench_version", "case_identity", "version",
         "later_status", "later_error", "later_run_id", "current_version")
# Without a case key, the id names every coordinate and non-default recipe; these name the rest.
LEGACY_IDENTITY = ("case_id", "include_classifier", "calibration_size")


def _text(column: str) -> str:
    return f"coalesce(CAST(x.{column} AS VARCHAR), '-')"


def sql(results: str = "results", runs: str = "runs") -> str:
    """The view's query over `results` and `runs` (table names, or subqueries in parentheses)."""
    legacy = " || '|' || ".join(_text(c) for c in LEGACY_IDENTITY)
    version = " || '|' || ".join([_text("method_hash"), "left(" + _text("pretrained_sha256") + ", 12)",
                                  _text("pretrain_recipe_key"), _text("recipe_key"),
                                  "coalesce(r.bench_version, '-')"])
    setting = ", ".join(k for k in dict.fromkeys((*GROUP_KEYS, *CONDITION_KEYS)) if k != "ratio")
    window = (f"PARTITION BY {setting} ORDER BY attempt DESC "
              "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING")
    return f"""
WITH base AS (
    SELECT x.*, r.started_at AS run_started_at, r.finished_at AS run_finished_at,
           r.bench_version AS bench_version,
           coalesce(x.case_key, {legacy}) AS case_identity,
           {version} AS version,
           row_number() OVER (ORDER BY r.started_at NULLS FIRST, x.started_at NULLS FIRST,
                              x.run_id, x.nodeid) AS attempt
    FROM {results} AS x LEFT JOIN {runs} AS r ON r.run_id = x.run_id
),
passed AS (
    SELECT * FROM base WHERE coalesce(status, 'passed') = 'passed'
    QUALIFY row_number() OVER (PARTITION BY case_identity, version ORDER BY attempt DESC) = 1
),
other AS (
    SELECT * FROM base WHERE coalesce(status, 'passed') <> 'passed'
    QUALIFY row_number() OVER (PARTITION BY case_identity, method_hash ORDER BY attempt DESC) = 1
),
joined AS (
    SELECT p.*, o.status AS later_status, o.error AS later_error, o.run_id AS later_run_id
    FROM passed AS p LEFT JOIN other AS o ON o.case_identity = p.case_identity
        AND o.method_hash IS NOT DISTINCT FROM p.method_hash AND o.attempt > p.attempt
    UNION ALL BY NAME
    SELECT o.* FROM other AS o WHERE NOT EXISTS (
        SELECT 1 FROM passed AS p WHERE p.case_identity = o.case_identity
            AND p.method_hash IS NOT DISTINCT FROM o.method_hash)
),
marked AS (
    SELECT f.*, first_value(f.method_hash) OVER setting AS current_method
    FROM joined AS f WINDOW setting AS ({window})
),
chosen AS (
    SELECT m.*, coalesce(first_value(CASE WHEN coalesce(m.status, 'passed') = 'passed'
                                           AND m.method_hash IS NOT DISTINCT FROM m.current_method
                                          THEN m.version END IGNORE NULLS) OVER setting,
                         first_value(m.version) OVER setting) AS chosen_version
    FROM marked AS m WINDOW setting AS ({window})
)
SELECT c.* EXCLUDE (attempt, current_method, chosen_version),
       c.version = c.chosen_version OR (coalesce(c.status, 'passed') <> 'passed'
                                 AND c.method_hash IS NOT DISTINCT FROM c.current_method)
           AS current_version
FROM chosen AS c
"""


def create_view(con) -> None:
    """(Re)create the view in an open, migrated database (its columns follow the tables')."""
    con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS {sql()}")
