"""The CR-rate analysis against the conjugate Beta posterior (independent closed form)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesblina.analyses import BetaBinomialModel
from bayesblina.analyses.registry import load_spec
from bayesblina.core.spec import SummarySettings
from bayesblina.core.summaries import beta_hdi, mcse
from bayesblina.errors import SpecError
from bayesblina.pipeline import run_analysis


@pytest.mark.parametrize(("a", "b"), [(28, 44), (14.5, 30.5), (1.5, 9), (0.5, 5), (3, 0.7)])
def test_beta_hdi_is_the_shortest_95_interval(a, b):
    dist = stats.beta(a, b)
    lo, hi = beta_hdi(dist, 0.95)
    assert dist.cdf(hi) - dist.cdf(lo) == pytest.approx(0.95, abs=1e-9)
    # brute force over a fine grid of lower-tail masses
    u = np.linspace(0, 0.05, 20001)
    widths = dist.ppf(u + 0.95) - dist.ppf(u)
    assert hi - lo <= widths.min() + 1e-9
    if a > 1 and b > 1:  # interior HDI: equal density at both ends
        assert dist.pdf(lo) == pytest.approx(dist.pdf(hi), rel=1e-5)


def test_exact_table_matches_scipy(overall_spec):
    model = BetaBinomialModel.from_spec(overall_spec, "sceptical")
    exact = model.exact_table(SummarySettings()).set_index("population")
    # Beta(2, 18) prior + 27/70 -> Beta(29, 61); + 14/44 -> Beta(16, 48)
    for pop, (a, b) in {"all_5_15": (29, 61), "phase_2": (16, 48)}.items():
        dist = stats.beta(a, b)
        assert exact.loc[pop, "mean"] == pytest.approx(a / (a + b), abs=1e-12)
        assert exact.loc[pop, "eti_low"] == pytest.approx(dist.ppf(0.025), abs=1e-12)
        assert exact.loc[pop, "P(p>0.275)"] == pytest.approx(dist.sf(0.275), abs=1e-12)


def test_data_come_from_table_2(overall_spec):
    model = BetaBinomialModel.from_spec(overall_spec)
    data = model.data.set_index("population")
    assert (data.loc["all_5_15", "x"], data.loc["all_5_15", "n"]) == (27, 70)
    assert (data.loc["phase_2", "x"], data.loc["phase_2", "n"]) == (14, 44)
    assert set(data["source"]) == {"Table 2"}


def _mcse_quantile(draws: np.ndarray, prob: float) -> float:
    return mcse(draws, "quantile", prob)


@pytest.mark.slow
@pytest.mark.mcmc
def test_mcmc_matches_conjugate_posterior_within_3_mcse(overall_spec, default_run):
    """Every reported quantity, every prior set and population, against Beta(a+x, b+n-x)."""
    result = default_run.results["overall_cr"]
    assert result.passed, result.diagnostics_table()
    data = result.model.data.set_index("population")
    for name, fit in result.fits.items():
        a, b = overall_spec.priors[name].p.alpha, overall_spec.priors[name].p.beta
        summary = fit.summary.set_index("population")
        for pop, row in data.iterrows():
            exact = stats.beta(a + row["x"], b + row["n"] - row["x"])
            draws = fit.idata.posterior["p"].sel(population=pop).values  # (chain, draw)
            s = summary.loc[pop]
            assert abs(s["mean"] - exact.mean()) <= 3 * s["mcse_mean"], (name, pop, "mean")
            for q, col in [(0.025, "eti_low"), (0.5, "median"), (0.975, "eti_high")]:
                assert abs(s[col] - exact.ppf(q)) <= 3 * _mcse_quantile(draws, q), (name, pop, col)
            # the sample HDI has no ArviZ MCSE: check that its exact posterior mass is 95%
            # within the Monte Carlo error of a mass estimated from these draws
            inside = ((draws >= s["hdi_low"]) & (draws <= s["hdi_high"])).astype(float)
            mass = exact.cdf(s["hdi_high"]) - exact.cdf(s["hdi_low"])
            assert abs(mass - 0.95) <= 3 * mcse(inside), (name, pop, "hdi mass")
            lo, hi = beta_hdi(exact, 0.95)
            assert s["hdi_low"] < exact.mean() < s["hdi_high"]
            assert (s["hdi_high"] - s["hdi_low"]) <= (s["eti_high"] - s["eti_low"]) + 1e-3
            assert lo < s["hdi_high"] and s["hdi_low"] < hi
            for t in (0.10, 0.275):
                indicator = (draws > t).astype(float)
                se = mcse(indicator)
                target = exact.sf(t)
                # a tail probability of ~1 has ~0 MCSE: allow one draw's worth of mass
                tol = max(3 * se, 1.0 / indicator.size)
                assert abs(s[f"P(p>{t:g})"] - target) <= tol, (name, pop, t)


@pytest.mark.slow
@pytest.mark.mcmc
def test_whole_analysis_is_reproducible(overall_spec):
    spec = overall_spec.with_sampler(draws=300, tune=300)
    first = run_analysis(spec).summary_table()
    second = run_analysis(spec).summary_table()
    pd.testing.assert_frame_equal(first, second)


RATE_SPEC = """[analysis]
name = "bad_spec"
title = "t"
question = "q"
model = "beta_binomial"

[data]
rows = {rows}

[priors.flat]
p = {{ family = "beta", alpha = 1.0, beta = 1.0 }}
"""


def test_inline_rows_of_ones_own_trial_load_with_their_counts(write_spec):
    spec = load_spec(write_spec(RATE_SPEC.format(
        rows='[{ label = "arm_a", x = 7, n = 20 }, { label = "arm_b", x = 3, n = 18 }]')))
    data = BetaBinomialModel.from_spec(spec).data
    assert list(data["population"]) == ["arm_a", "arm_b"]
    assert list(data["x"]) == [7, 3] and list(data["n"]) == [20, 18]


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ('[{ label = "a", x = true, n = 20 }]', r"rows.0, column 'x': value True is invalid"),
        ('[{ label = "a", x = "7", n = 20 }]', r"rows.0, column 'x'"),
        ('[{ label = "a", x = 21, n = 20 }]', r"rows.0.*x = 21.*exceeds|exceed"),
        ('[{ label = "a", x = 1, n = 0 }]', r"rows.0, column 'n'"),
        ('[{ label = "a", x = 1, n = 2 }, { label = "a", x = 1, n = 2 }]', "duplicated row"),
        ('[{ label = "a", x = 1, n = 2, extra = 1 }]', "extra"),
        ("[]", "rows"),
    ],
)
def test_bad_inline_rows_are_one_clear_error_naming_row_and_column(write_spec, rows, match):
    path = write_spec(RATE_SPEC.format(rows=rows))
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    message = str(err.value)
    assert str(path) in message and "key 'data.rows'" in message
    assert "(got [{" not in message  # the rows are not repeated at the end of the line
