"""Rows excluded at ingest, per rule, table and service, against the client's limit.

Ingest lists every excluded row with its rule and, where it could work it out,
the service the row would have counted in. Counted only client-wide, a service
that lost a tenth of its tickets to one rule would still read as "good"; so each
rule is measured per table and service, and client-wide, as a share of that
table's rows of that service. Above ``quality.max_excluded_share`` (default 5%)
``csi check`` and ``csi run`` stop (exit 2) naming the rule, the count, example
rows and the fix, unless the consultant accepts it knowingly
(``--accept-exclusions``); the reports then say so on their first page.

Rows matching none of the configured services are out of scope, not lost (a
consultant may report on 8 of 70 assignment groups): they are counted and shown,
never held against the limit. So are survey answers to such tickets.
"""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd

from csi_lib.data import client_wide
from csi_lib.errors import DataError
from csi_lib.ingest import Ingested
from csi_lib.params import Params

__all__ = [
    "ACCEPT_FLAG",
    "EXCLUSION_COLUMNS",
    "OUT_OF_SCOPE",
    "excluded_rows",
    "exclusion_note",
    "exclusion_table",
    "over_limit",
    "publishable",
    "require_exclusions_within_limit",
]

EXCLUSION_COLUMNS = ["table", "service", "scope", "rule", "rows", "base", "share", "limit",
                     "over_limit", "file", "column", "examples", "fix"]
ALL = "all"
IN_SCOPE, OUT_OF_SCOPE = "in scope", "out of scope"
ACCEPT_FLAG = "--accept-exclusions"
# Ingest rules (csi_lib.ingest.tables) whose rows lie outside the services reported on.
NO_SERVICE_RULE = "matches no service"
NO_TICKET_RULE = "refers to no ticket kept"
EXAMPLES = 5
_TABLES = ("tickets", "changes", "surveys")


def _pct(share: float) -> str:
    """A share as a percentage, with the digits a small one needs (0.023%, not 0.0%)."""
    return f"{share * 100:.2g}%" if 0 < share < 0.001 else f"{share:.1%}"


def _limit(limit: float) -> str:
    return f"{limit * 100:g}%"


def _examples(lines: pd.Series) -> str:
    return ", ".join(str(n) for n in sorted(lines.astype("int64"))[:EXAMPLES])


def _out_of_scope(excluded: pd.DataFrame) -> pd.Series:
    """Excluded rows that match no configured service, and answers to such tickets."""
    rule = excluded["rule"].astype("string")
    nosvc = rule.eq(NO_SERVICE_RULE).fillna(False)
    outside = excluded.loc[nosvc & excluded["table"].eq("tickets"), "record_id"]
    answers = (rule.eq(NO_TICKET_RULE).fillna(False) & excluded["table"].eq("surveys")
               & excluded["record_id"].isin(set(outside.dropna())))
    return (nosvc | answers).astype(bool)


def excluded_rows(excluded: pd.DataFrame) -> tuple[int, int]:
    """(rows excluded from the services reported on, rows out of scope) of ingest's
    ``excluded`` table: only the first are lost to the reports."""
    outside = int(_out_of_scope(excluded).sum()) if len(excluded) else 0
    return len(excluded) - outside, outside


def _kept(tables: Ingested, table: str) -> pd.Series:
    frame = getattr(tables, table)
    if "service" not in frame:
        return pd.Series(dtype="string")
    return frame["service"].astype("string")


def exclusion_table(tables: Ingested, params: Params) -> pd.DataFrame:
    """Rows each ingest rule excluded, per table and service and client-wide (``"all"``).

    One row per (table, service, rule) that excluded anything: ``rows`` excluded,
    ``base`` (the table's rows of that service, kept plus excluded; client-wide,
    every row in scope), ``share``, the ``limit`` and whether the share is
    ``over_limit``, with the file, column, example rows and fix of the rule.
    Out-of-scope rows (``scope`` "out of scope", service "all") are listed with the
    table's rows as base and are never over the limit.
    """
    # The same table in every report of the client: computed once per kernel.
    return client_wide(tables, ("exclusions", params.model_dump_json()),
                       lambda: _exclusion_table(tables, params))


def _exclusion_table(tables: Ingested, params: Params) -> pd.DataFrame:
    limit = params.quality.max_excluded_share
    excluded, issues = tables.excluded, tables.issues
    if "service" not in excluded:  # a table cached before services were recorded
        excluded = excluded.assign(service=pd.Series(pd.NA, index=excluded.index,
                                                     dtype="string"))
    outside = _out_of_scope(excluded)
    order = {s.id: i for i, s in enumerate(params.services)}
    rows: list[dict[str, object]] = []
    for table in _TABLES:
        mine = excluded["table"].eq(table)
        if not mine.any():
            continue
        kept = _kept(tables, table)
        inside = excluded.loc[mine & ~outside]
        service = inside["service"].astype("string")
        known = service.notna() & service.isin(order)
        base = kept.value_counts().add(service[known].value_counts(), fill_value=0)
        total = len(kept) + len(inside)
        groups = [(s, inside.loc[known & service.eq(s)], int(base.get(s, 0)))
                  for s in sorted(set(service[known]), key=order.__getitem__)]
        groups.append((ALL, inside, total))
        for svc, part, n in groups:
            for rule, hit in part.groupby("rule", sort=True)["source_row"]:
                share = len(hit) / n if n else float("nan")
                rows.append({"table": table, "service": svc, "scope": IN_SCOPE, "rule": rule,
                             "rows": len(hit), "base": n, "share": share, "limit": limit,
                             "over_limit": bool(n and share > limit),
                             "examples": _examples(hit)})
        away = excluded.loc[mine & outside]
        for rule, hit in away.groupby("rule", sort=True)["source_row"]:
            n = total + len(away)
            rows.append({"table": table, "service": ALL, "scope": OUT_OF_SCOPE, "rule": rule,
                         "rows": len(hit), "base": n, "share": len(hit) / n, "limit": limit,
                         "over_limit": False, "examples": _examples(hit)})
    frame = pd.DataFrame(rows, columns=[c for c in EXCLUSION_COLUMNS
                                        if c not in ("file", "column", "fix")])
    where = (issues.loc[issues["action"] == "excluded", ["table", "rule", "file", "column", "fix"]]
             .drop_duplicates(["table", "rule"]))
    frame = frame.merge(where, on=["table", "rule"], how="left")
    return frame[EXCLUSION_COLUMNS].astype({
        "rows": "int64", "base": "int64", "share": "float64", "limit": "float64",
        "over_limit": "bool"})


def publishable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a run publishes it: each export by its file name, not its path on the
    consultant's machine, so the published table is the same wherever the run ran."""
    names = table["file"].map(lambda f: PurePath(f).name if isinstance(f, str) else f)
    return table.assign(file=names)


def over_limit(table: pd.DataFrame, service: str | None = None) -> pd.DataFrame:
    """The rows of an :func:`exclusion_table` over the limit (of ``service`` and client-wide,
    when given)."""
    # Read back from a CSV the flags may be text: compare words, not truthiness.
    hit = table.loc[table["over_limit"].astype("string").str.lower().eq("true").fillna(False)]
    if service is not None:
        hit = hit.loc[hit["service"].isin([service, ALL])]
    return hit


def _line(row: pd.Series) -> str:
    who = "client-wide" if row["service"] == ALL else f"service {row['service']}"
    where = f"{row['file']}, column {row['column']}" if pd.notna(row["file"]) else "ingest"
    fix = row["fix"] if pd.notna(row["fix"]) and row["fix"] else "correct these rows"
    return (f"- {row['table']}, {who}: {row['rows']:,} of {row['base']:,} rows "
            f"({_pct(row['share'])}) excluded for {row['rule']!r} ({where}; rows "
            f"{row['examples']}). Fix: {fix}")


def require_exclusions_within_limit(tables: Ingested, params: Params, *,
                                    accept: bool = False) -> pd.DataFrame:
    """The exclusion table; raise DataError when a rule excludes more than the limit.

    ``accept`` lets the exclusions through (the consultant knows; the reports say so).
    """
    table = exclusion_table(tables, params)
    over = over_limit(table)
    if over.empty or accept:
        return table
    limit = params.quality.max_excluded_share
    raise DataError(
        f"ingest excluded more than {_limit(limit)} of a service's or the client's rows for one "
        f"rule (quality.max_excluded_share in {params.source_file}):\n"
        + "\n".join(_line(row) for _, row in over.iterrows())
        + f"\nFix the export or the params as each line says; or raise "
        f"quality.max_excluded_share; or pass {ACCEPT_FLAG} to report anyway (the reports "
        "then say so on their first page)."
    )


def exclusion_note(table: pd.DataFrame, service: str | None = None) -> str:
    """The first-page sentence on exclusions over the limit that were accepted, or ""."""
    over = over_limit(table, service)
    if over.empty:
        return ""
    parts = [f"{row['rows']:,} of {row['base']:,} {row['table']} rows "
             f"({_pct(row['share'])}) "
             f"{'client-wide' if row['service'] == ALL else 'of ' + str(row['service'])} "
             f"for \u201c{row['rule']}\u201d" for _, row in over.iterrows()]
    limit = float(over["limit"].iloc[0])
    return (f"**Exclusions over the {_limit(limit)} limit were accepted for this run** "
            f"({ACCEPT_FLAG}): {'; '.join(parts)}. The KPIs leave these rows out; read "
            "them with that in mind (see the data-quality section).")
