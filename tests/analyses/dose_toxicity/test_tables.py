"""The dose-toxicity page's tables (:mod:`bayesblina.analyses.dose_toxicity.tables`).

The tables are computed by the exact grid engine when the docs are built; here they are
checked against answers computed without it (the prior in closed form, the BLRM posterior
by a brute-force grid in the test, the CRM posterior by one-dimensional quadrature), for
the consistency of the tables with each other, and for the numbers the page's prose quotes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayesblina.analyses.dose_toxicity.tables import (
    crm_table,
    dose_text,
    fifth_dlt_table,
    load_dose_toxicity_spec,
    mtd_table,
    pk_expansion_table,
    posterior_table,
    prior_table,
    prob_text,
    target_text,
    treatments_table,
)
from bayesblina.errors import SpecError

#: the escalation cohorts of the paper: (periods as (dose, days), patients, DLTs)
COHORTS = (([(5.0, 28)], 5, 0), ([(15.0, 28)], 7, 1), ([(30.0, 28)], 5, 2),
           ([(15.0, 7), (30.0, 21)], 6, 1))
#: prior sets of the packaged BLRM spec: (mean, sd) of log alpha and log beta
BLRM_PRIORS = {"weakly_informative": ((-1.3863, 2.0), (0.0, 1.0)),
               "sceptical_of_toxicity": ((-2.1972, 1.5), (0.0, 0.7))}


@pytest.fixture(scope="module")
def tables() -> dict[str, object]:
    return {f.__name__: f() for f in (prior_table, posterior_table, mtd_table,
                                      treatments_table, fifth_dlt_table, pk_expansion_table,
                                      crm_table)}


def num(text: str) -> float:
    """A printed probability as a number (the ends as their bound)."""
    return float(text.lstrip("<> "))


def test_text_helpers():
    assert prob_text(0.9999) == "> 0.999" and prob_text(0.00049) == "< 0.001"
    assert dose_text(27.96) == "28.0" and dose_text(831.2) == "831"
    assert target_text(1 / 6) == "1/6" and target_text(0.25) == "0.25"


def test_prior_table_at_the_reference_dose_is_closed_form(tables):
    """At d = d_ref, logit p = log alpha ~ N(m1, s1²): quantiles and tails are exact."""
    table = tables["prior_table"].set_index("prior set")
    assert list(table.index) == list(BLRM_PRIORS)
    for name, ((m1, s1), (m2, s2)) in BLRM_PRIORS.items():
        row = table.loc[name]
        lo, mid, hi = special.expit(m1 + np.array([-1.959964, 0, 1.959964]) * s1)
        cell = row["at 15"]
        assert cell == f"{prob_text(mid)} ({prob_text(lo)} to {prob_text(hi)})"
        over = stats.norm(m1, s1).sf(special.logit(0.33))
        assert num(row["prior P(p(15) > 0.33)"]) == pytest.approx(over, abs=5e-4)
        b_lo, b_hi = np.exp(m2 + np.array([-1.959964, 1.959964]) * s2)
        assert row["β: 95% interval"] == f"{b_lo:.2f} to {b_hi:.2f}"
    assert table.loc["weakly_informative", "prior median MTD (target 0.25)"] == "17.9"
    assert table.loc["sceptical_of_toxicity", "prior median MTD (target 0.25)"] == "37.4"


def cohort_loglik(p: Callable[[float], np.ndarray]) -> np.ndarray:
    """Binomial log-likelihood of :data:`COHORTS` (period exposure), given p(d) on a grid."""
    total = 0.0
    with np.errstate(divide="ignore"):  # p = 1 at the far edge of a grid: log(0) = -inf
        for periods, n, y in COHORTS:
            log_surv = sum(days / 28 * np.log1p(-p(d)) for d, days in periods)
            total = total + (n - y) * log_surv
            if y:
                total = total + y * np.log(-np.expm1(log_surv))
    return total


def brute_force_blrm(name: str, size: int = 400) -> dict[str, float]:
    """Posterior means of p(5), p(15), p(30), p(15/30) and P(p(d) > 0.33), on a plain grid."""
    (m1, s1), (m2, s2) = BLRM_PRIORS[name]
    a = m1 + s1 * np.linspace(-7, 7, size)[:, None]
    b = np.exp(m2 + s2 * np.linspace(-7, 7, size)[None, :])

    def p(d: float) -> np.ndarray:
        return special.expit(a + b * np.log(d / 15.0))

    loglik = cohort_loglik(p)
    logw = (stats.norm.logpdf(a, m1, s1) + stats.norm.logpdf(np.log(b), m2, s2) + loglik)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    out = {f"{d:g}": float((w * p(d)).sum()) for d in (5.0, 15.0, 30.0)}
    out["15/30"] = float((w * (1 - (1 - p(15.0)) ** 0.25 * (1 - p(30.0)) ** 0.75)).sum())
    for d in (15.0, 30.0):
        out[f"over {d:g}"] = float((w * (p(d) > 0.33)).sum())
    return out


@pytest.mark.parametrize("name", list(BLRM_PRIORS))
def test_posterior_table_against_a_brute_force_grid(tables, name):
    table = tables["posterior_table"]
    rows = table[table["prior set"] == name].set_index("dose")
    ref = brute_force_blrm(name)
    for dose in ("5", "15", "30"):
        assert num(rows.loc[dose, "mean"]) == pytest.approx(ref[dose], abs=1.5e-3)
    assert num(rows.loc["15/30 (stepwise)", "mean"]) == pytest.approx(ref["15/30"], abs=1.5e-3)
    for dose in ("15", "30"):
        assert num(rows.loc[dose, "P(over)"]) == pytest.approx(ref[f"over {dose}"], abs=3e-3)
    for dose in ("5", "15", "30"):  # the three interval probabilities add up to 1
        total = sum(num(rows.loc[dose, c]) for c in ("P(under)", "P(target)", "P(over)"))
        assert total == pytest.approx(1.0, abs=2e-3)


def test_page_key_numbers(tables):
    post = tables["posterior_table"].set_index(["prior set", "dose"])
    assert post.loc[("weakly_informative", "15"), "P(over)"] == "0.015"
    assert post.loc[("sceptical_of_toxicity", "15"), "P(over)"] == "0.009"
    assert post.loc[("weakly_informative", "30"), "P(over)"] == "0.314"
    mtd = tables["mtd_table"].set_index(["prior set", "target π"])
    assert mtd.loc[("weakly_informative", "0.25"), "median MTD"] == "28.0"
    assert mtd.loc[("weakly_informative", "0.25"), "P(MTD ≥ 15)"] == "0.921"
    assert list(mtd["EWOC dose"]) == ["27", "27", "29", "29"]
    pk = tables["pk_expansion_table"].set_index("prior set")
    assert list(pk["EWOC dose"]) == ["31", "33"]
    assert (pk["P(p(15) > 0.33)"] == "< 0.001").all()
    crm = tables["crm_table"]
    assert list(crm.loc[crm["recommended"] == "yes", "level"]) == ["30"]


def test_tables_agree_with_each_other(tables):
    post = tables["posterior_table"].set_index(["prior set", "dose"])
    mtd = tables["mtd_table"].set_index(["prior set", "target π"])
    treat = tables["treatments_table"].set_index(["prior set", "treatment"])
    fifth = tables["fifth_dlt_table"]
    for name in BLRM_PRIORS:
        pe = treat.loc[(name, "period_exposure")]
        for dose in ("5", "15", "30"):
            assert pe[f"P(DLT) {dose}"] == post.loc[(name, dose), "mean"]
        assert pe["P(DLT) 15/30"] == post.loc[(name, "15/30 (stepwise)"), "mean"]
        assert pe["median MTD (0.25)"] == mtd.loc[(name, "0.25"), "median MTD"]
        assert pe["P(p(15) > 0.33)"] == post.loc[(name, "15"), "P(over)"]
        # first_period counts 15/30 as 15, maintenance as 30
        assert (treat.loc[(name, "first_period"), "P(DLT) 15/30"]
                == treat.loc[(name, "first_period"), "P(DLT) 15"])
        assert (treat.loc[(name, "maintenance"), "P(DLT) 15/30"]
                == treat.loc[(name, "maintenance"), "P(DLT) 30"])
        rows = fifth[fifth["prior set"] == name]
        assert len(rows) == 9 and rows["scenario"].iloc[0] == "as published"
        first = rows.iloc[0]
        assert first["EWOC dose"] == mtd.loc[(name, "0.25"), "EWOC dose"]
        assert first["P(p(30) > 0.33)"] == post.loc[(name, "30"), "P(over)"]
        # one more DLT anywhere makes 30 no safer and 15 stays acceptable
        assert all(num(v) >= num(first["P(p(30) > 0.33)"]) for v in rows["P(p(30) > 0.33)"])
        assert all(num(v) <= 0.07 for v in rows["P(p(15) > 0.33)"])


def test_crm_table_against_quadrature(tables):
    """Empiric CRM, beta ~ N(0, 1.1575837²): posterior means by a dense 1-D trapezoid rule."""
    skeleton = {5.0: 0.08, 15.0: 0.16, 30.0: 0.30}
    sd = 1.1575837
    beta = np.linspace(-8 * sd, 8 * sd, 40001)

    def p(d: float) -> np.ndarray:
        return skeleton[d] ** np.exp(beta)

    loglik = cohort_loglik(p)
    w = np.exp(loglik - loglik.max()) * stats.norm.pdf(beta, 0, sd)
    z = integrate.trapezoid(w, beta)
    beta_mean = integrate.trapezoid(beta * w, beta) / z
    table = tables["crm_table"].set_index("level")
    for level, s in skeleton.items():
        row = table.loc[f"{level:g}"]
        mean = integrate.trapezoid(p(level) * w, beta) / z
        over = integrate.trapezoid((p(level) > 0.33) * w, beta) / z
        assert row["skeleton"] == f"{s:g}"
        assert num(row["posterior mean P(DLT)"]) == pytest.approx(mean, abs=1e-3)
        assert num(row["plug-in estimate"]) == pytest.approx(s ** np.exp(beta_mean), abs=1e-3)
        assert num(row["P(p > 0.33)"]) == pytest.approx(over, abs=2e-3)


def test_spec_of_the_wrong_model_is_refused():
    with pytest.raises(SpecError, match="'crm' spec"):
        crm_table("dose_toxicity_blrm")
    with pytest.raises(SpecError, match="'blrm' spec"):
        prior_table("dose_toxicity_crm")
    with pytest.raises(SpecError, match="dose-toxicity room"):
        load_dose_toxicity_spec("overall_cr")
