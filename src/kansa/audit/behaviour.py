"""Behaviour detector: an actor-day unlike the actor's own past, unlike the peers, and unlike any day.

The rules look for named patterns; this detector looks for days that simply do not fit. It
needs two independent opinions before it speaks, because either alone is noisy on thousands of
honest actor-days:

1. robust z-scores (median and interquartile range, Iglewicz–Hoaglin's 3.5 cut-off, as in
   ``baseline``) of each feature against the actor's own earlier active days (the last
   ``OWN_WINDOW``, at least ``RECORD_HISTORY``) and against the pooled days of peers (same
   role and team, or the role when the team is too small) over the last ``PEER_WINDOW_DAYS``
   days; a feature counts when it beats both cut-offs and every one of the actor's earlier days. A newcomer without ``RECORD_HISTORY`` active days
   is not judged here: busy teams and quiet teams share a role, so "more than the role's
   median" alone is how an ordinary new hire looks (the rules judge what newcomers access);
2. an Isolation Forest (scikit-learn) fitted only on actor-days before the judged week, which
   must place the day among the strangest ``IF_QUANTILE`` (one in twenty, the conventional 5 %
   level) of the days it was trained on. The forest sees all features at once, so it vetoes
   days where one number is high but the day as a whole is ordinary.

Volume alone (events, rows, people) is what a busy day looks like; it fires alone only at three
times the cut-off, otherwise a finding needs a risk feature (owners, exports, unjustified or
off-hours events, new resources) among those that fired.

Counts are compared after Anscombe's transform 2·sqrt(x + 3/8), under which Poisson counting
noise has unit variance whatever the level: the spread is then never taken below that noise
(MAD 0.6745, one standard deviation), so a z of 3.5 means "3.5 counting-noise deviations at
least". Shares are judged through the count of events behind them (off-hours events,
unjustified events), because a share of one event (1 of 1 at night = 100 %) is noise.
Everything about day D uses features of days up to D and models fitted before D. Endpoint
activity (USB) is the rules' business; this detector reads the access log only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from kansa.audit.baseline import OUTLIER_Z
from kansa.audit.features import COUNT_FEATURES, FEATURES, SHARE_FEATURES, features_sql, monday
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import event_id_range
from kansa.audit.rules.state import refresh
from kansa.model.workspace import Workspace

RECORD_HISTORY = 19  # earlier active days before an own baseline counts (see rules: ≤ 5 % record chance)
OWN_WINDOW = 60  # active days of own history compared with
PEER_WINDOW_DAYS = 28  # calendar days of the peers' history pooled
MIN_PEER_DAYS = 19
IF_QUANTILE = 0.05  # the forest must rank the day among the strangest 1 in 20 of its training days
IF_MIN_TRAIN = 200  # fewer actor-days than this is no model
IF_MAX_TRAIN = 20000  # a sample of this many (newest first) is plenty for 100 trees of 256
HISTORY_DAYS = 120  # how far back scoring reads stored features
OWN_BLOCK_ROWS = 20000  # judged rows whose own windows are built at once (memory, not results)
FEATURE_BLOCK_EVENTS = 4_000_000  # events whose features are computed by one statement (memory, not results)
EVIDENCE_LIMIT = 50
# Volume alone (more events, rows, people on the actor's own work) is what a busy day looks like:
# campaign peaks, month-end, a colleague's batch taken over. It speaks alone only at the "high"
# level every detector uses (three times the cut-off); otherwise a finding needs a risk feature.
VOLUME_FEATURES = ("events", "subjects", "rows_read")
VOLUME_ALONE_Z = 3 * OUTLIER_Z

_LABEL_JA = {
    "events": "操作数",
    "subjects": "対象者数",
    "owners": "委託元(データ所有者)数",
    "rows_read": "取得件数",
    "rows_exported": "出力件数",
    "unjustified_share": "業務上の根拠のない操作数",
    "off_hours_share": "時間外の操作数",
    "new_resources": "初めて触れた資源数",
}


RESOURCE_TABLE = "audit_resource_first_v1"  # the first day each actor touched each resource
_RESOURCE_DDL = (f"CREATE TABLE IF NOT EXISTS {RESOURCE_TABLE} (actor_id VARCHAR NOT NULL, resource VARCHAR NOT NULL, "
                 "day DATE NOT NULL)")
_RESOURCE_INSERT = f"""
    INSERT INTO {RESOURCE_TABLE}
    SELECT e.actor_id, e.resource, min(CAST(e.ts AS DATE)) AS day FROM access_events e
    WHERE e.ts < ? AND e.ts >= {{lo}} AND e.actor_id IS NOT NULL AND e.resource IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {RESOURCE_TABLE} t WHERE t.actor_id = e.actor_id AND t.resource = e.resource)
    GROUP BY ALL
"""


def feature_blocks(ws: Workspace, since: date, until: date) -> list[tuple[date, date]]:
    """[``since``, ``until``] as runs of whole weeks holding about ``FEATURE_BLOCK_EVENTS`` events each.

    The features of a day or a week read only that week's events (first touches are stored), so
    computing them block after block stores what one statement over the whole range would. One
    statement over a full history groups one row per event and person of every week at once: past
    the audit's memory limit DuckDB spills that table, and the cost grows faster than the events.
    The block length comes from the average events per day of the range (blocks bound memory,
    not results, so an estimate will do); every block after the first starts on a Monday.
    """
    lo = datetime.combine(monday(since), time(), tzinfo=ws.timezone)
    hi = datetime.combine(until + timedelta(days=1), time(), tzinfo=ws.timezone)
    row = ws.con.execute("SELECT count(*) FROM access_events WHERE ts >= ? AND ts < ?", [lo, hi]).fetchone()
    events = int(row[0]) if row else 0
    per_week = events / max((until - monday(since)).days + 1, 1) * 7
    span_weeks = (until - monday(since)).days // 7 + 1
    # never longer than the range: a few events a week would otherwise ask for a block past year 9999
    weeks = min(max(int(FEATURE_BLOCK_EVENTS // per_week), 1), span_weeks) if per_week > 0 else span_weeks
    blocks: list[tuple[date, date]] = []
    first = since
    while first <= until:
        last = min(monday(first) + timedelta(days=7 * weeks - 1), until)
        blocks.append((first, last))
        first = last + timedelta(days=1)
    return blocks


def update_features(ws: Workspace, since: date, until: date) -> int:
    """Recompute and store day and week features for periods from ``since`` to ``until``.

    First touches of resources are kept in a table (``rules.state``), so only the events of the
    recomputed periods are read, not the whole history; a long range is computed in blocks of
    weeks (``feature_blocks``).
    """
    con = ws.con
    week_since = monday(since)
    cutoff = datetime.combine(until + timedelta(days=1), time(), tzinfo=ws.timezone)
    refresh(con, RESOURCE_TABLE, _RESOURCE_DDL, week_since, cutoff, [(_RESOURCE_INSERT, [cutoff])])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM behaviour_features WHERE grain = 'day' AND period >= ?", [since])
        con.execute("DELETE FROM behaviour_features WHERE grain = 'week' AND period >= ?", [week_since])
        cols = ", ".join(FEATURES)
        for first, last in feature_blocks(ws, since, until):
            # the ids of the events the block reads (a day's margin either side of its local days)
            ids = event_id_range(con, datetime.combine(monday(first) - timedelta(days=1), time(), tzinfo=ws.timezone),
                                 datetime.combine(last + timedelta(days=2), time(), tzinfo=ws.timezone))
            # the connection's zone is the workspace's (``Workspace.con``): its local midnights
            midnights = (datetime.combine(monday(first), time(), tzinfo=ws.timezone),
                         datetime.combine(last + timedelta(days=1), time(), tzinfo=ws.timezone))
            con.execute(
                f"INSERT INTO behaviour_features (grain, actor_id, period, {cols}) "
                f"SELECT grain, actor_id, period, {cols} FROM "
                f"({features_sql(first, last, first_touch_table=RESOURCE_TABLE, event_ids=ids, local_midnights=midnights)})"
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    row = con.execute(
        "SELECT count(*) FROM behaviour_features WHERE grain = 'day' AND period BETWEEN ? AND ?", [since, until]
    ).fetchone()
    return int(row[0]) if row else 0


def _load(ws: Workspace, since: date, until: date) -> pd.DataFrame:
    df = ws.con.execute(
        f"""
        SELECT f.actor_id, f.period AS day, date_diff('day', DATE '0001-01-01', f.period) + 1 AS ord,
               coalesce(a.role, 'unknown') AS role, coalesce(a.team, '') AS team,
               {", ".join("f." + c for c in FEATURES)}
        FROM behaviour_features f LEFT JOIN actors a USING (actor_id)
        WHERE f.grain = 'day' AND f.period BETWEEN ? AND ? AND coalesce(a.role, '') <> 'service'
        ORDER BY f.actor_id, f.period
        """,
        [since - timedelta(days=HISTORY_DAYS), until],
    ).df()
    if df.empty:
        return df
    df["day"] = pd.to_datetime(df["day"]).dt.date
    for c in COUNT_FEATURES:
        df["t_" + c] = 2.0 * np.sqrt(df[c].astype(float) + 0.375)
    for c in SHARE_FEATURES:
        # a share of one or two events is noise (1 of 1 at night = 100 %): judge the count behind it
        df["t_" + c] = 2.0 * np.sqrt(np.round(df[c].astype(float) * df["events"].astype(float)) + 0.375)
    return df


NOISE_MAD = 0.6745  # the MAD of unit-variance noise: Poisson counts after Anscombe's transform


def _quantiles(v: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """Per row of ``v`` (sorted, NaN after the ``n`` values): the q quantile, linear interpolation."""
    pos = q * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    rows = np.arange(v.shape[0])
    a, b = v[rows, lo], v[rows, hi]
    return np.asarray(a + (b - a) * (pos - lo))


def _own_stats(df: pd.DataFrame, since: date) -> None:
    """Per row from ``since``: median, IQR-based spread and max of the actor's earlier active days.

    NaN where the actor has fewer than ``RECORD_HISTORY`` earlier days (and for rows before
    ``since``, which are history only); median and spread also where the row does not exceed the
    maximum (no use is made of them there). Each judged row gathers its own window of the actor's last
    ``OWN_WINDOW`` earlier rows (``df`` is ordered by actor and day), so a daily run costs one
    window per actor and a full run the same arithmetic for every row, by the same code.
    """
    actor = df["actor_id"].to_numpy(dtype=object)
    first_row = np.r_[0, np.flatnonzero(actor[1:] != actor[:-1]) + 1] if len(df) else np.zeros(0, dtype=np.int64)
    start = np.repeat(first_row, np.diff(np.r_[first_row, len(df)]))
    judged_all = np.flatnonzero(df["ord"].to_numpy() >= since.toordinal())
    values = {f: df["t_" + f].to_numpy(dtype=float) for f in FEATURES}
    outs = {name + f: np.full(len(df), np.nan) for f in FEATURES for name in ("own_med_", "own_sc_", "own_max_")}
    # in blocks of rows: a window matrix of every actor-day of a full run at once (rows x 60, several
    # copies per feature) took gigabytes at 30 M events, on top of DuckDB's own memory
    for lo in range(0, len(judged_all), OWN_BLOCK_ROWS):
        judged = judged_all[lo:lo + OWN_BLOCK_ROWS]
        idx = judged[:, None] - OWN_WINDOW + np.arange(OWN_WINDOW)[None, :]
        valid = idx >= start[judged][:, None]
        n = valid.sum(axis=1)
        enough = n >= RECORD_HISTORY
        safe = np.where(valid, idx, 0)
        for f in FEATURES:
            w = np.where(valid, values[f][safe], -np.inf)
            mx = w.max(axis=1)
            outs["own_max_" + f][judged[enough]] = mx[enough]
            # a feature is judged only on a row above every earlier day of the window (``_fired``,
            # ``_candidates``), a few rows in a hundred: the median and spread, which need the
            # window sorted, are computed for those rows alone and left NaN for the others
            need = np.flatnonzero(enough & (values[f][judged] > mx))
            if need.size == 0:
                continue
            v = np.sort(np.where(valid[need], w[need], np.nan), axis=1)  # NaN sort last
            med, q1, q3 = (_quantiles(v, n[need], q) for q in (0.5, 0.25, 0.75))
            # IQR/2 estimates the MAD of a symmetric distribution; never below counting noise
            outs["own_med_" + f][judged[need]] = med
            outs["own_sc_" + f][judged[need]] = np.maximum((q3 - q1) / 2.0, NOISE_MAD)
    for name, col in outs.items():
        df[name] = col


class _Peers:
    """The peer windows of ``df``, with the columns they filter on as arrays (compared once per
    distinct role, team and day, not once per candidate row)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        ords = df["ord"].to_numpy(dtype=np.int64)  # date.toordinal() of each row's day, from the query
        role = df["role"].to_numpy(dtype=object)
        team = df["team"].to_numpy(dtype=object)
        values = {f: df["t_" + f].to_numpy(dtype=float) for f in FEATURES}
        # per role, and per role and team, its rows ordered by day: a window is then a slice, not a
        # mask over every row (nor a comparison of every team name of the role's window per call)
        self.by_role: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self.by_team: dict[tuple[str, str], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        for (r, t), rows in df.groupby([role, team], sort=False).indices.items():
            rows = rows[np.argsort(ords[rows], kind="stable")]
            self.by_team[(str(r), str(t))] = (ords[rows], {f: v[rows] for f, v in values.items()})
        for r in pd.unique(role):
            rows = np.flatnonzero(role == r)
            rows = rows[np.argsort(ords[rows], kind="stable")]
            self.by_role[str(r)] = (ords[rows], {f: v[rows] for f, v in values.items()})
        self.cache: dict[tuple[str, str, date], dict[str, tuple[float, float, int]] | None] = {}

    def stats(self, role: str, team: str, day: date) -> dict[str, tuple[float, float, int]] | None:
        """Median and IQR-based spread of each feature over peers' actor-days in the peer window.

        Peers are the same role in the same team when that team has enough days in the window (teams
        of one role differ in workload: a campaign team and a back-office team), else the same role.
        """
        key = (role, team, day)
        if key not in self.cache:
            self.cache[key] = self._stats(role, team, day)
        return self.cache[key]

    def _stats(self, role: str, team: str, day: date) -> dict[str, tuple[float, float, int]] | None:
        if role not in self.by_role:
            return None
        d = day.toordinal()
        ords, values = self.by_role[role]
        if team and (role, team) in self.by_team:
            t_ords, t_values = self.by_team[(role, team)]
            t_lo, t_hi = np.searchsorted(t_ords, [d - PEER_WINDOW_DAYS, d], side="left")
            if t_hi - t_lo >= MIN_PEER_DAYS:
                ords, values = t_ords, t_values
        lo, hi = (int(x) for x in np.searchsorted(ords, [d - PEER_WINDOW_DAYS, d], side="left"))
        n = hi - lo
        if n < MIN_PEER_DAYS:
            return None
        stats: dict[str, tuple[float, float, int]] = {}
        for f in FEATURES:
            vals = values[f][lo:hi]
            med = float(np.median(vals))
            q1, q3 = np.quantile(vals, [0.25, 0.75])
            stats[f] = (med, max(float(q3 - q1) / 2.0, NOISE_MAD), n)
        return stats


def _forest_ranks(df: pd.DataFrame, rows: list[int]) -> dict[int, tuple[bool, float]]:
    """For the given rows: is the day among the forest's strangest, and its rank among training days.

    One forest per week that has a row to judge, fitted on the actor-days before that week's first
    such row (so nothing from the judged day or later is used).
    """
    out: dict[int, tuple[bool, float]] = {}
    X = df[["t_" + f for f in FEATURES]].to_numpy(dtype=float)
    day_arr = df["day"].to_numpy()
    ords = df["ord"].to_numpy(dtype=np.int64)  # the days as integers: compared over every row per week
    by_week: dict[date, list[int]] = {}
    for i in rows:
        d = day_arr[i]
        by_week.setdefault(d - timedelta(days=d.weekday()), []).append(i)
    for _week, items in sorted(by_week.items()):
        first = min(int(ords[i]) for i in items)
        train = np.flatnonzero(ords < first)
        if train.size < IF_MIN_TRAIN:
            continue
        train = train[np.argsort(ords[train], kind="stable")][-IF_MAX_TRAIN:]
        forest = IsolationForest(n_estimators=100, random_state=0).fit(X[train])
        ref = np.sort(forest.score_samples(X[train]))
        cut = float(np.quantile(ref, IF_QUANTILE))
        scores = forest.score_samples(X[items])
        for i, sc in zip(items, scores, strict=True):
            out[i] = (bool(sc < cut), float(np.searchsorted(ref, sc) / ref.size))
    return out


def _fired(row: pd.Series, pstats: dict[str, tuple[float, float, int]] | None) -> list[dict[str, Any]]:
    """The features on which the row beats its own past (cut-off and maximum) and the peers."""
    fired: list[dict[str, Any]] = []
    for f in FEATURES:
        x = float(row["t_" + f])
        med_o, sc_o, mx_o = row["own_med_" + f], row["own_sc_" + f], row["own_max_" + f]
        if pd.isna(med_o) or x <= float(mx_o):
            continue  # a newcomer has no behaviour to change yet; the rules judge their access
        zs = [0.6745 * (x - float(med_o)) / float(sc_o)]
        if pstats is not None:
            med_p, sc_p, _n = pstats[f]
            zs.append(0.6745 * (x - med_p) / sc_p)
        if min(zs) <= OUTLIER_Z:
            continue
        fired.append({
            "feature": f,
            "value": float(row[f]),
            "own_median": _fmt(f, float(med_o)),
            "peer_median": _fmt(f, pstats[f][0]) if pstats else None,
            "z": round(min(zs), 2),
        })
    fired.sort(key=lambda e: -float(e["z"]))
    return fired


_LABEL_EN = {"unjustified_share": "unjustified events", "off_hours_share": "off-hours events"}


def _fmt(f: str, t_value: float) -> str:
    """A transformed value back as a count (for shares: the number of events behind the share)."""
    return f"{max((t_value / 2.0) ** 2 - 0.375, 0.0):.0f}"


def _candidates(df: pd.DataFrame, since: date, until: date) -> list[int]:
    """Rows in [since, until] that beat their own past on at least one feature (vectorised pre-filter)."""
    ords = df["ord"]
    in_range = (ords >= since.toordinal()) & (ords <= until.toordinal())
    hit = pd.Series(False, index=df.index)
    for f in FEATURES:
        x = df["t_" + f]
        z = 0.6745 * (x - df["own_med_" + f]) / df["own_sc_" + f]
        hit |= (x > df["own_max_" + f]) & (z > OUTLIER_Z)
    return [int(i) for i in np.flatnonzero((in_range & hit).to_numpy())]


def detect(ws: Workspace, since: date, until: date) -> list[Finding]:
    """Behaviour findings for days from ``since`` to ``until`` (features updated first)."""
    update_features(ws, since, until)
    df = _load(ws, since, until)
    if df.empty:
        return []
    df = df.reset_index(drop=True)
    _own_stats(df, since)
    judged: list[tuple[int, list[dict[str, Any]]]] = []
    peers = _Peers(df)
    for i in _candidates(df, since, until):
        row = df.iloc[i]
        fired = _fired(row, peers.stats(str(row["role"]), str(row["team"]), row["day"]))
        if not fired:
            continue
        if all(e["feature"] in VOLUME_FEATURES for e in fired) and float(fired[0]["z"]) < VOLUME_ALONE_Z:
            continue
        judged.append((i, fired))
    forest = _forest_ranks(df, [i for i, _f in judged])
    out: list[Finding] = []
    for i, fired in judged:
        if i not in forest or not forest[i][0]:
            continue
        rank = forest[i][1]
        row = df.iloc[i]
        day, actor, role = row["day"], str(row["actor_id"]), str(row["role"])
        z = float(fired[0]["z"])
        # the local midnights bound the stored blocks read (without them every event's time was
        # converted to a date, once per finding); the date test is the one that decides
        lo = datetime.combine(day, time(), tzinfo=ws.timezone)
        ids = ws.con.execute(
            "SELECT event_id FROM access_events WHERE actor_id = ? AND CAST(ts AS DATE) = ? AND ts >= ? AND ts < ? "
            "ORDER BY coalesce(row_count, 1) DESC, event_id LIMIT ?",
            [actor, day, lo - timedelta(days=1), lo + timedelta(days=2), EVIDENCE_LIMIT],
        ).fetchall()
        parts_ja = [
            f"{_LABEL_JA[e['feature']]} {_fmt(e['feature'], float(row['t_' + e['feature']]))}"
            f"(本人中央値 {e['own_median']}、同僚中央値 {e['peer_median'] or '-'}、z {e['z']:.1f})"
            for e in fired
        ]
        parts_en = [
            f"{_LABEL_EN.get(e['feature'], e['feature'].replace('_', ' '))} "
            f"{_fmt(e['feature'], float(row['t_' + e['feature']]))} "
            f"(own median {e['own_median']}, peers' {e['peer_median'] or '-'}, z {e['z']:.1f})"
            for e in fired
        ]
        pct = rank * 100
        out.append(
            Finding(
                rule="behaviour",
                actor_id=actor,
                day=day,
                score=round(z, 2),
                severity=severity_for(z, high=3 * OUTLIER_Z, medium=OUTLIER_Z),
                reason_ja=(
                    f"{day} の行動が本人の過去・同じ役割の同僚のいずれとも異なる: " + "、".join(parts_ja)
                    + f"。Isolation Forest でも過去の全行動日のうち最も異常な {pct:.2f}% に入る。"
                ),
                reason_en=(
                    f"Behaviour on {day} unlike both the actor's own past and role peers: " + "; ".join(parts_en)
                    + f". The Isolation Forest ranks the day stranger than {100 - pct:.2f}% of earlier actor-days."
                ),
                detail={"features": fired, "forest_rank": round(rank, 5), "role": role, "if_quantile": IF_QUANTILE},
                access_events=[int(r[0]) for r in ids],
            )
        )
    return out
