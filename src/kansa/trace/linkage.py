"""Run the Splink (DuckDB) linkage of an encoded leak against the holdings index.

Splink works on the workspace's own DuckDB database through a separate cursor whose default
catalog is a private in-memory database: its working tables never land in the workspace file,
while the index is read where it lies (no copy of ten million records). What kansa hand-writes
around Splink is only what Splink cannot express:

* the u probabilities are estimated once per state of the index (Splink's random sampling over
  a sample of indexed records) and kept in ``trace_model``; a trace only applies them;
* the holdings side is narrowed to records sharing a blocking key with the leak;
* term frequencies are computed over the whole index and registered with Splink (the narrowed
  side alone would make every leaked name look common);
* blocking is tiered per leaked row: a row that shares a pair-of-fields key or a phone with
  some indexed record is blocked on those only; an address block (a household, a building) is
  opened only for rows no such key places; single-field name/reading/birth date/postcode blocks
  only for rows no key nor address places, and only for values rare in the index
  (``MAX_BLOCK``): a block of every 佐藤 carries no evidence and costs millions of comparisons.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from splink import DuckDBAPI, Linker

from kansa.model.workspace import Workspace
from kansa.trace.encode import BLOOM_FIELDS, HASH_FIELDS
from kansa.trace.splink_settings import (
    BLOCKING_RULES,
    Spec,
    settings,
    specs_for,
    term_frequency_sql,
    tf_fields,
    tf_floor,
    trained_specs,
    unseen_u,
)

MAX_BLOCK = 200
"""A name, reading, family name, birth date or postcode alone is a blocking key only when at most this many
indexed records carry it: in a small index every birthday is a small block, in ten million
records a birthday holds hundreds of people and only pairs of fields block."""
RARE_FIELDS: tuple[str, ...] = ("name", "kana", "dob", "postcode", "family")
"""Fields blocked on alone, for rows no pair key or address places, when their value is rare.
``family`` is the family name alone: a copy whose given name was replaced and whose other
fields were all re-typed agrees exactly on nothing else (FEBRL 4's rec-944)."""
FALLBACK_FIELDS: tuple[str, ...] = ("address",)
"""Single-field blocks opened only for leaked rows that no pair key or phone places. An address
is shared by a household or a whole building, so for a row a pair key already places it only
adds its neighbours to score. The benchmark's holdings draw from 432,000 addresses: at 2 M
holdings / 200 k leaked rows the address rule alone made 1.09 M pairs (0.16 M of them true, none
that another rule missed); at 10 M / 1 M that grows to about 23 M pairs and pulls nearly the
whole index into the narrowed holdings side. A row whose stronger keys find nothing (a damaged
name and birth date) still gets the address block, whatever its size."""
U_SAMPLE = 20_000
"""Indexed records sampled at random for the u estimate."""
U_MAX_PAIRS = 1_000_000
"""Random pairs Splink compares for the u estimate."""
EM_MIN_ROWS = 1_000
"""Leaked rows from which m is re-estimated by EM on the leak itself; below it the reasoned m
are used (a few hundred pairs let EM wander)."""
EM_SAMPLE = 50_000
"""Leaked rows (a seeded random sample) on which EM re-estimates m when the leak is larger. An m
is a share of true pairs; 50,000 rows give it a standard error under 0.003, far below what moves
a weight, while EM on all of a million rows blocked on birth date would compare tens of millions
of pairs against ten million holdings."""
EM_RULES: tuple[str, ...] = ("l.h_dob = r.h_dob", "l.h_phone = r.h_phone")
MODEL_VERSION = 5
"""Bump when the comparisons change: a stored u of other comparisons is not reused."""
LINK_MEMORY = "4GB"
"""DuckDB's memory limit while linking; beyond it DuckDB spills to the workspace database's temp
directory. The issue's budget for a whole trace is 8 GB, and DuckDB's default (80 % of the
machine) would let the linkage alone take it while the Python side holds the leak's encodings
and the scored pairs; half of the budget goes to DuckDB."""


@contextmanager
def _splink_connection(ws: Workspace) -> Iterator[tuple[Any, str]]:
    """A cursor on the workspace database whose default catalog is a private in-memory database
    (Splink's working tables go there); yields (cursor, quoted name of the workspace catalog)."""
    con = ws.con.cursor()
    db = f'"{con.execute("SELECT current_database()").fetchall()[0][0]}"'
    mem = f"kansa_splink_{uuid.uuid4().hex[:12]}"
    con.execute(f"ATTACH ':memory:' AS {mem}").fetchall()
    con.execute(f"USE {mem}").fetchall()
    # the limit is the database instance's, not this cursor's: put the caller's back afterwards
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"SET memory_limit = '{LINK_MEMORY}'").fetchall()
    logging.getLogger("splink").setLevel(logging.ERROR)  # progress chatter, not the caller's business
    try:
        yield con, db
    finally:
        con.execute(f"SET memory_limit = '{before}'").fetchall()
        con.execute(f"USE {db}").fetchall()
        con.execute(f"DETACH {mem}").fetchall()
        con.close()


def _fingerprint(ws: Workspace) -> str:
    row = ws.con.cursor().execute(
        "SELECT coalesce(sum(records), 0), count(*), max(indexed_at) FROM trace_datasets"
    ).fetchall()[0]
    return f"{MODEL_VERSION}:{row[0]}:{row[1]}:{row[2]}"


def u_probabilities(ws: Workspace) -> dict[str, list[float]]:
    """u per comparison level (non-null levels, in order) for every field, estimated by Splink's
    random sampling over indexed records; kept in ``trace_model`` until the index changes."""
    fp = _fingerprint(ws)
    con = ws.con.cursor()
    specs = trained_specs(name_parts_known(ws))
    got = con.execute("SELECT u FROM trace_model WHERE fingerprint = ?", [fp]).fetchall()
    if got:
        kept: dict[str, list[float]] = dict(json.loads(got[0][0]))
        if {s.name for s in specs} <= set(kept):  # else the index gained given names: estimate again
            return kept
    with _splink_connection(ws) as (scon, db):
        u = _train_u(scon, db, specs)
    con.execute("DELETE FROM trace_model").fetchall()
    con.execute("INSERT INTO trace_model VALUES (?, now(), ?)", [fp, json.dumps(u)]).fetchall()
    return u


def _one_version(db: str) -> str:
    """SQL: the largest version of each owner's dataset. Versions repeat the same people, and u is
    the chance agreement of *different* people: a pair of one person's copies is no chance."""
    return f"SELECT arg_max(dataset_id, records) FROM {db}.main.trace_datasets GROUP BY owner_id, name"


def _train_u(con: Any, db: str, specs: list[Spec]) -> dict[str, list[float]]:
    bf = ", ".join(f"{_bits(f'bf_{f}')} AS bf_{f}" for f in BLOOM_FIELDS)
    hs = ", ".join(f"h_{f}" for f in HASH_FIELDS)
    con.execute(
        f"""CREATE TABLE u_sample AS SELECT dataset_id || '#' || record_no AS unique_id, {bf}, {hs},
                   {_alias_columns("")}
            FROM (SELECT * FROM {db}.main.trace_records WHERE dataset_id IN ({_one_version(db)}))
            USING SAMPLE reservoir({U_SAMPLE} ROWS) REPEATABLE (7)"""
    ).fetchall()
    api = DuckDBAPI(con)
    sample = api.register("u_sample", table_name="u_sample_in")
    every = sorted({f for spec in specs for f in spec.fields})
    linker = Linker(sample, settings(every, 1e-4, link_type="dedupe_only", specs=specs, by_name=True),
                    log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=1, num_chunks=1)
    n = con.execute("SELECT count(*) FROM u_sample").fetchall()[0][0]
    floor = unseen_u(min(U_MAX_PAIRS, n * (n - 1) // 2))
    model = linker.misc.save_model_to_json()
    out: dict[str, list[float]] = {}
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        # a level no sampled pair reached: never 0 (an infinite weight), see unseen_u
        out[comp["output_column_name"]] = [max(float(lv.get("u_probability") or 0.0), floor) for lv in levels]
    return out


def link(ws: Workspace, leak: pd.DataFrame, fields: list[str], min_probability: float = 0.01) -> pd.DataFrame:
    """Score leak rows against indexed records with Splink.

    ``leak`` has ``row`` (0-based data row) and the encoded columns ``bf_*`` (bytes) and ``h_*``
    (hex) of ``encode``. Returns one row per scored candidate pair above ``min_probability``:
    ``row, dataset_id, record_no, subject_id, match_probability, match_weight`` and the
    match weight each comparison contributed (``mw_<comparison>``, log2 Bayes factor).
    """
    if fields and not leak.empty:
        fields = with_parts(with_family(fields), name_parts_known(ws))
    cols = ["row", "dataset_id", "record_no", "subject_id", "match_probability", "match_weight",
            *(f"mw_{s.column}" for s in specs_for(fields))]
    if leak.empty or not fields:
        return pd.DataFrame(columns=cols)
    u = u_probabilities(ws)
    with _splink_connection(ws) as (con, db):
        return _link(con, db, leak, fields, u, min_probability)[cols]


def _bits(col: str) -> str:
    return f"CAST({col} AS BIT)"


def _link(
    con: Any, db: str, leak: pd.DataFrame, fields: list[str], u: dict[str, list[float]], min_probability: float
) -> pd.DataFrame:
    records = f"{db}.main.trace_records"
    fields = with_family(fields)
    con.register("leak_raw", leak)
    bf = ", ".join(f"{_bits(f'bf_{f}')} AS bf_{f}" for f in BLOOM_FIELDS)
    hs = ", ".join(f"h_{f}" for f in HASH_FIELDS)
    # a value rare enough in the index to be a block of its own (how many indexed records carry
    # each leaked value: one aggregate per field over the index, restricted to the leak's values)
    # the family name is counted for the rows left over only: nearly every row carries one, and a
    # count of every leaked surname would scan the index's commonest names for rows already placed
    unplaced = {"family": " AND row NOT IN (SELECT row FROM paired)"}
    counts = {
        f: f"""(SELECT h_{f}, count(*) AS n FROM {records}
                WHERE h_{f} IN (SELECT h_{f} FROM leak_raw WHERE h_{f} IS NOT NULL{unplaced.get(f, "")})
                GROUP BY h_{f}) c_{f}"""
        for f in RARE_FIELDS if f in fields
    }
    # rows that share a pair-of-fields key (or a phone, an address) with some indexed record get
    # no single-field block: their candidates come from the pair blocks, and a birthday carried
    # by a hundred indexed people would only add a hundred pairs to score for nothing
    # the address is the next tier: a row it places gets no single-field block either
    con.execute(f"CREATE TABLE keyed AS SELECT row FROM leak_raw l WHERE {_pair_keys_in(records, fields)}").fetchall()
    fallback = " OR ".join(f"l.h_{f} IN (SELECT h_{f} FROM {records} WHERE h_{f} IS NOT NULL)"
                           for f in FALLBACK_FIELDS if f in fields) or "FALSE"
    con.execute(f"""CREATE TABLE paired AS SELECT row FROM keyed UNION
                    SELECT row FROM leak_raw l WHERE {fallback}""").fetchall()
    rare = ", ".join(f"CASE WHEN coalesce(c_{f}.n, 0) <= {MAX_BLOCK} AND p.row IS NULL THEN l.h_{f} END AS h_{f}_rare"
                     if f in counts else f"CAST(NULL AS VARCHAR) AS h_{f}_rare" for f in RARE_FIELDS)
    rare += "".join(f", CASE WHEN k.row IS NULL THEN l.h_{f} END AS h_{f}_fallback" for f in FALLBACK_FIELDS)
    joins = (" ".join(f"LEFT JOIN {counts[f]} USING (h_{f})" for f in counts)
             + " LEFT JOIN paired p USING (row) LEFT JOIN keyed k USING (row)")

    lbf = ", ".join(f"{_bits('l.bf_' + f)} AS bf_{f}" for f in BLOOM_FIELDS)
    lhs = ", ".join(f"l.h_{f}" for f in HASH_FIELDS)
    con.execute(
        f"""CREATE TABLE leak_side AS SELECT CAST(l.row AS VARCHAR) AS unique_id, {lbf}, {lhs}, {rare}
            FROM leak_raw l {joins}"""
    ).fetchall()
    con.unregister("leak_raw")
    # the holdings that can be blocked with some leak row
    conds = []
    for rule in blocking_rules(fields):
        pairs = [p.strip() for p in rule.split(" AND ")]
        lcols = [p.split("=")[0].strip().removeprefix("l.") for p in pairs]
        rcols = [_base_column(p.split("=")[1].strip().removeprefix("r.")) for p in pairs]
        conds.append(
            f"({', '.join('r.' + c for c in rcols)}) IN (SELECT ({', '.join(lcols)}) FROM leak_side"
            f" WHERE {' AND '.join(c + ' IS NOT NULL' for c in lcols)})"
            if len(pairs) > 1
            else f"r.{rcols[0]} IN (SELECT {lcols[0]} FROM leak_side WHERE {lcols[0]} IS NOT NULL)"
        )
    con.execute(
        f"""
        CREATE TABLE hold_side AS
        WITH pick AS (SELECT dataset_id, record_no FROM {records} r WHERE {" OR ".join(conds)})
        SELECT r.dataset_id || '#' || r.record_no AS unique_id, r.dataset_id, r.record_no, r.subject_id,
               {bf}, {hs}, {_alias_columns("r.")}
        FROM {records} r JOIN pick USING (dataset_id, record_no)
        """
    ).fetchall()
    total = con.execute(f"SELECT count(*) FROM {records}").fetchall()[0][0]
    people = _distinct_people(con, records)
    # floored at the u of an exact agreement on the field alone. Only the leak's own values: a
    # term frequency weighs an exact agreement, which needs the leaked value on one side, and a
    # group-by over every distinct name of ten million records would be most of the work
    tf_used = tf_fields(specs_for(fields))
    for f in tf_used:
        con.execute(
            f"""CREATE TABLE tf_{f} AS SELECT h_{f}, {term_frequency_sql("count(*)", total, people, tf_floor(f, u))}
                AS tf_h_{f} FROM {records}
                WHERE h_{f} IN (SELECT h_{f} FROM leak_side WHERE h_{f} IS NOT NULL) GROUP BY h_{f}"""
        ).fetchall()
    api = DuckDBAPI(con)
    left = api.register("leak_side", table_name="leak_side_in", dataset_display_name="leak")
    right = api.register("hold_side", table_name="hold_side_in", dataset_display_name="holdings")
    prior = 1.0 / max(1, people)
    tf = {f: api.register(f"tf_{f}", table_name=f"tf_{f}_in") for f in tf_used}
    model: Any = settings(fields, prior, u=u)
    model.blocking_rules_to_generate_predictions = [_tiered(r) for r in model.blocking_rules_to_generate_predictions]
    if EM_MIN_ROWS <= len(leak) <= EM_SAMPLE:
        linker = _linker([left, right], model, tf)
        _estimate_m(linker, fields)
    else:
        if len(leak) > EM_SAMPLE:
            con.execute(f"CREATE TABLE leak_em AS SELECT * FROM leak_side USING SAMPLE reservoir({EM_SAMPLE} ROWS)"
                        " REPEATABLE (7)").fetchall()
            em = _linker([api.register("leak_em", table_name="leak_em_in", dataset_display_name="leak"), right],
                         model, tf)
            _estimate_m(em, fields)
            model = em.misc.save_model_to_json()
        linker = _linker([left, right], model, tf)
    pred = linker.inference.predict(threshold_match_probability=min_probability, warning_mode="never")
    gammas = ", ".join(f"p.mw_{s.column}" for s in specs_for(fields))
    out: pd.DataFrame = con.execute(
        f"""
        SELECT CAST(CASE WHEN p.source_dataset_l = 'leak' THEN p.unique_id_l ELSE p.unique_id_r END AS BIGINT) AS row,
               h.dataset_id, h.record_no, h.subject_id, p.match_probability, p.match_weight, {gammas}
        FROM {pred.physical_name} p
        JOIN hold_side h ON h.unique_id = CASE WHEN p.source_dataset_l = 'leak' THEN p.unique_id_r ELSE p.unique_id_l END
        """
    ).df()
    return out


def _linker(tables: list[Any], model: Any, tf: dict[str, Any]) -> Linker:
    linker = Linker(tables, model, log_level=None)
    for f, table in tf.items():
        linker.table_management.register_term_frequency_lookup(table, f"h_{f}")
    return linker


def _tiered(rule: str) -> str:
    """A blocking rule as linkage applies it: a single-field rule on a ``FALLBACK_FIELDS`` field
    reads the leak side's fallback column (filled only for rows no stronger key places)."""
    for f in FALLBACK_FIELDS:
        if rule.strip() == f"l.h_{f} = r.h_{f}":
            return f"l.h_{f}_fallback = r.h_{f}_fallback"
    return rule


def with_family(fields: list[str]) -> list[str]:
    """The fields linkage blocks on: a leak with names may carry the family name alone too (a
    row's ``h_family`` is NULL where its list did not say which part it is, and in records
    indexed before the key existed: such rows open no family block)."""
    return [*fields, "family"] if "name" in fields and "family" not in fields else list(fields)


def with_parts(fields: list[str], known: bool) -> list[str]:
    """The fields compared: with ``known`` (the index holds given names) a leak with names is
    compared on the name's parts too (``splink_settings``: family/given levels); without, as
    before the parts existed."""
    if known and "name" in fields and "given" not in fields:
        return [*with_family(fields), "given"]
    return list(fields)


def name_parts_known(ws: Workspace) -> bool:
    """Whether any indexed record holds a given name (indexed since trace migration 6). An index
    without any keeps the comparisons it was linked with before: a level that none of its
    records can reach would still take its share of m from the others."""
    row = ws.con.cursor().execute(
        "SELECT EXISTS (SELECT 1 FROM trace_records WHERE h_given IS NOT NULL)").fetchall()
    return bool(row[0][0])


def blocking_rules(fields: list[str] | None = None) -> list[str]:
    """``BLOCKING_RULES`` with the tiers applied (see the module's docstring); with ``fields``,
    only the rules on fields the leak has (a rule on a missing field blocks nothing, yet its
    semi-join would still read the whole index)."""
    rules = [_tiered(r) for r in BLOCKING_RULES]
    if fields is None:
        return rules
    return [r for r in rules if {_base_column(c) for c in re.findall(r"l\.h_(\w+)", r)} <= set(fields)]


def _base_column(col: str) -> str:
    return col.removesuffix("_rare").removesuffix("_fallback")


def _alias_columns(prefix: str) -> str:
    """The holdings side's copies of its hashes under the leak side's tier column names."""
    return ", ".join([*(f"{prefix}h_{f} AS h_{f}_rare" for f in RARE_FIELDS),
                      *(f"{prefix}h_{f} AS h_{f}_fallback" for f in FALLBACK_FIELDS)])


def _pair_keys_in(records: str, fields: list[str]) -> str:
    """SQL condition on leak row ``l``: some indexed record agrees with it on every field of one
    blocking rule of the first tier (not a rare single field, not a fallback field)."""
    conds = []
    for rule in blocking_rules(fields):
        if "_rare" in rule or "_fallback" in rule:
            continue
        cols = [p.split("=")[0].strip().removeprefix("l.") for p in rule.split(" AND ")]
        notnull = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        if len(cols) == 1:
            conds.append(f"l.{cols[0]} IN (SELECT {cols[0]} FROM {records} WHERE {notnull})")
        else:
            conds.append(f"({', '.join('l.' + c for c in cols)}) IN (SELECT ({', '.join(cols)}) FROM {records}"
                         f" WHERE {notnull})")
    return " OR ".join(conds) or "FALSE"


def _estimate_m(linker: Linker, fields: list[str]) -> None:
    """Re-estimate m by expectation maximisation on this leak's candidate pairs (u stays fixed).

    The reasoned m values describe a broker's usual damage; a large list carries enough pairs to
    measure its own (FEBRL's swapped names, a typist's habits). Two passes, each blocked on one
    field so that the others' m can be estimated; a comparison whose field blocks a pass keeps
    the value of the other pass (or the reasoned one)."""
    for rule in EM_RULES:
        if _rule_fields_of(rule) <= set(fields):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, fix_u_probabilities=True, fix_probability_two_random_records_match=True
                )
            except Exception as exc:  # EM may find no pairs or not converge: keep the reasoned m
                logging.getLogger(__name__).info("EM on %s skipped: %s", rule, exc)


def _rule_fields_of(rule: str) -> set[str]:
    return {c.removeprefix("l.h_") for c in rule.split() if c.startswith("l.h_")}


def _distinct_people(con: Any, records: str) -> int:
    """About how many different people the index holds: records of the largest version of each
    owner's dataset (versions repeat the same people), summed over datasets. ``trace_datasets``
    keeps each version's record count (written in the same transaction as its records), so the
    index itself need not be counted."""
    row = con.execute(
        f"""SELECT sum(n) FROM (
              SELECT max(records) AS n FROM {records.replace('trace_records', 'trace_datasets')}
              GROUP BY owner_id, name)"""
    ).fetchall()
    return int(row[0][0] or 0) if row else 0
