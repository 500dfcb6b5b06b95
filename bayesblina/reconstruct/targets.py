"""The published numbers a reconstruction must reproduce (medians, landmarks, CIs, fates)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from bayesblina.data import (
    load_patient_fates,
    load_response_categories,
    load_survival_summaries,
)
from bayesblina.errors import DataError
from bayesblina.reconstruct.assumptions import check_endpoint


@dataclass(frozen=True)
class Target:
    """The published KM summary of one population."""

    population: str
    n: int
    events: int
    median: float
    ci_low: float
    ci_high: float
    landmark_time: float | None = None
    landmark_pct: float | None = None
    median_followup: float | None = None


@dataclass(frozen=True)
class Facts:
    """Everything the reconstruction takes from the packaged data."""

    os: Target
    rfs: Target
    rfs_complete: Target
    rfs_other: Target
    os_fates: tuple[tuple[str, int, str], ...]  # (label, count, rule)
    rfs_fates: tuple[tuple[str, int, str], ...]
    n_complete: int
    n_other: int
    n_nodata: int


def summary_row(table: pd.DataFrame, endpoint: str, population: str) -> pd.Series:
    """The one survival-summary row of an end point and population."""
    rows = table[(table["endpoint"] == endpoint) & (table["population"] == population)]
    if len(rows) != 1:
        raise DataError(
            f"survival_summaries.csv: expected one row for endpoint {endpoint!r}, "
            f"population {population!r}; found {len(rows)}"
        )
    return rows.iloc[0]


def fate_count(table: pd.DataFrame, population: str, fate: str) -> int:
    """How many patients of a population had a given fate."""
    rows = table[(table["population"] == population) & (table["fate"] == fate)]
    if len(rows) != 1:
        raise DataError(
            f"patient_fates.csv: expected one row for population {population!r}, fate "
            f"{fate!r}; found {len(rows)}"
        )
    return int(rows["n"].iloc[0])


def optional_number(value: object) -> float | None:
    """A number, or ``None`` for a missing value."""
    return None if pd.isna(value) else float(value)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1)
def published_facts() -> Facts:
    """Read the published numbers once and check they fit together."""
    summ = load_survival_summaries()
    fates = load_patient_fates()
    cats = load_response_categories()

    def f(pop: str, fate: str) -> int:
        return fate_count(fates, pop, fate)

    n_all, died = f("all_5_15", "total"), f("all_5_15", "died")
    completed = f("all_5_15", "completed_2y_followup")
    withdrew, physician = f("all_5_15", "withdrew_consent"), f("all_5_15", "physician_decision")
    lost = f("all_5_15", "lost_to_followup")
    r_total, r_remission = f("responders", "total"), f("responders", "in_remission_at_end")
    r_rel_alive = f("responders", "relapsed_alive")
    r_wd_cr = f("responders", "withdrew_consent_in_cr")
    r_wd_rel = f("responders", "withdrew_consent_after_relapse")
    r_died_cr = f("responders", "died_in_cr_after_allohsct")
    r_rel_died = f("responders", "relapsed_and_died")
    n_complete = f("responders", "complete_mrd")
    nr_total, nr_alive = f("nonresponders", "total"), f("nonresponders", "alive_at_end")

    nr_died = died - r_died_cr - r_rel_died
    nr_withdrew = withdrew - r_wd_cr - r_wd_rel
    # Table 2 footnote: of the patients without a response assessment, 5 died and 1
    # withdrew consent before it (only the total, 6, is a separate number in the data).
    na = cats[(cats["population"] == "all_5_15") & (cats["category"] == "not_assessed")]
    early_died, early_withdrew = 5, 1
    if len(na) != 1 or int(na["count"].iloc[0]) != early_died + early_withdrew:
        raise DataError(
            "response_categories_table2.csv: the 'not_assessed' count of all_5_15 must be "
            f"{early_died + early_withdrew} (died {early_died} + withdrew {early_withdrew} "
            "before the first response assessment, Table 2 footnote)"
        )
    checks = [
        (r_total + nr_total == n_all, f"responders + non-responders = {n_all}"),
        (r_remission + r_rel_alive + nr_alive == completed,
         f"alive at the end (responders {r_remission + r_rel_alive} + non-responders "
         f"{nr_alive}) = completed the 2-year follow-up ({completed})"),
        (nr_died >= early_died and nr_withdrew >= early_withdrew,
         "non-responder deaths and withdrawals cover the early ones"),
        (nr_died + nr_alive + nr_withdrew + physician + lost == nr_total,
         f"non-responder fates add up to {nr_total}"),
        (r_remission + r_rel_alive + r_wd_cr + r_wd_rel + r_died_cr + r_rel_died == r_total,
         f"responder fates add up to {r_total}"),
    ]
    for ok, what in checks:
        if not ok:
            raise DataError(f"patient_fates.csv: the published fates do not fit together: {what}")

    os_fates = (
        ("responder:in_remission_at_end", r_remission, "end"),
        ("responder:relapsed_alive", r_rel_alive, "end"),
        ("responder:withdrew_consent_in_cr", r_wd_cr, "censor"),
        ("responder:withdrew_consent_after_relapse", r_wd_rel, "censor"),
        ("responder:died_in_cr_after_allohsct", r_died_cr, "event"),
        ("responder:relapsed_and_died", r_rel_died, "event"),
        ("nonresponder:died_before_first_assessment", early_died, "early_event"),
        ("nonresponder:died", nr_died - early_died, "event"),
        ("nonresponder:alive_at_end", nr_alive, "end"),
        ("nonresponder:withdrew_consent_before_first_assessment", early_withdrew,
         "early_censor"),
        ("nonresponder:withdrew_consent", nr_withdrew - early_withdrew, "censor"),
        ("nonresponder:physician_decision", physician, "censor"),
        ("nonresponder:lost_to_followup", lost, "censor"),
    )
    rfs_fates = (
        ("relapsed_and_died", r_rel_died, "event"),
        ("relapsed_alive", r_rel_alive, "event"),
        ("withdrew_consent_after_relapse", r_wd_rel, "event"),
        ("died_in_cr_after_allohsct", r_died_cr, "event"),
        ("in_remission_at_end", r_remission, "end"),
        ("withdrew_consent_in_cr", r_wd_cr, "censor"),
    )

    def target(endpoint: str, population: str, events: int) -> Target:
        row = summary_row(summ, endpoint, population)
        return Target(
            population=population, n=int(row["n"]), events=events,
            median=float(row["median_months"]), ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]), landmark_time=optional_number(row["landmark_time"]),
            landmark_pct=optional_number(row["landmark_pct"]),
            median_followup=optional_number(row["median_followup_months"]),
        )

    rfs_events = sum(n for _, n, rule in rfs_fates if rule == "event")
    os_t = target("os", "all_5_15", died)
    rfs_t = target("rfs", "responders_all_5_15", rfs_events)
    complete_t = target("rfs", "complete_mrd_responders", -1)
    other_t = target("rfs", "cr_without_complete_mrd", -1)
    if os_t.n != n_all or rfs_t.n != r_total or complete_t.n != n_complete:
        raise DataError("survival_summaries.csv: the n of OS, RFS or complete-MRD RFS does "
                        "not match patient_fates.csv")
    n_other = other_t.n
    n_nodata = r_total - n_complete - n_other
    if n_nodata < 0:
        raise DataError("survival_summaries.csv: the MRD groups hold more patients than the "
                        "responders")
    if rfs_t.landmark_time is None or rfs_t.landmark_pct is None:
        raise DataError("survival_summaries.csv: the overall RFS row lacks its 6-month RFS")
    return Facts(
        os=os_t, rfs=rfs_t, rfs_complete=complete_t, rfs_other=other_t,
        os_fates=os_fates, rfs_fates=rfs_fates,
        n_complete=n_complete, n_other=n_other, n_nodata=n_nodata,
    )


def published_targets(endpoint: str) -> pd.DataFrame:
    """The published numbers a reconstruction of ``endpoint`` must reproduce.

    Parameters
    ----------
    endpoint : {"os", "rfs", "rfs_mrd"}
        Which endpoint.

    Returns
    -------
    pandas.DataFrame
        One row per population, with ``population``, ``n``, ``events`` (from the fates;
        ``<NA>`` for the MRD groups, where the split is unknown), ``median``, ``ci_low``,
        ``ci_high``, ``landmark_time``, ``landmark_pct`` and ``median_followup``.

    Raises
    ------
    DataError
        If ``endpoint`` is unknown or the packaged numbers do not fit together.
    """
    check_endpoint(endpoint)
    rows = []
    for t in targets_of(endpoint):
        rows.append({
            "population": t.population, "n": t.n,
            "events": pd.NA if t.events < 0 else t.events,
            "median": t.median, "ci_low": t.ci_low, "ci_high": t.ci_high,
            "landmark_time": t.landmark_time, "landmark_pct": t.landmark_pct,
            "median_followup": t.median_followup,
        })
    out = pd.DataFrame(rows)
    out["events"] = out["events"].astype("Int64")
    return out


def targets_of(endpoint: str) -> tuple[Target, ...]:
    """The targets a reconstruction of an end point must meet."""
    facts = published_facts()
    if endpoint == "os":
        return (facts.os,)
    if endpoint == "rfs":
        return (facts.rfs,)
    return (facts.rfs_complete, facts.rfs_other)
