"""The one-factor subgroup page's tables (:mod:`bayesblina.analyses.subgroups.tables`).

The tables are computed when the docs are built; here they are checked against the
packaged counts, closed forms (Clopper–Pearson, conjugate Betas, half-normal quantiles)
and independent integrals, and a few printed numbers that the page's prose quotes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from bayesblina.analyses.subgroups.tables import (
    SUBGROUP_SPECS,
    contrast_table,
    data_table,
    exact_table,
    exnex_table,
    load_subgroup_spec,
    mean_sd,
    pct,
    prior_table,
    settings_table,
    tau_prior_means,
    tau_table,
)
from bayesblina.data import load_subgroups
from bayesblina.errors import SpecError

PARTIAL = [s for s in SUBGROUP_SPECS if not s.endswith("_exnex")]


def _mean_sd(text: str) -> tuple[float, float]:
    mean, sd = text.split(" (")
    return float(mean), float(sd.rstrip(")"))


@pytest.fixture(scope="module")
def exact():
    return exact_table().set_index(["factor", "level"])


def test_text_helpers():
    assert pct(0.2715) == "27.2"
    assert pct(0.0005) == "0.1"  # half up, as the paper rounds
    assert mean_sd(0.4666, 0.12) == "0.467 (0.120)"


def test_load_subgroup_spec_refuses_another_room():
    assert load_subgroup_spec("subgroups_age").analysis.model == "subgroups"
    assert load_subgroup_spec("subgroups_age_exnex").analysis.model == "exnex"
    with pytest.raises(SpecError, match="subgroups room"):
        load_subgroup_spec("overall_cr")


def test_data_table_is_fig2_with_the_exact_cis_the_paper_printed():
    table = data_table()
    fig2 = load_subgroups().sort_values("order")
    assert len(table) == len(fig2) == 16
    for (_, row), (_, r) in zip(table.iterrows(), fig2.iterrows(), strict=True):
        x, n = int(r["cr"]), int(r["n"])
        assert row["CR / patients"] == f"{x}/{n}"
        lo = stats.beta.ppf(0.025, x, n - x + 1) if x > 0 else 0.0
        hi = stats.beta.ppf(0.975, x + 1, n - x) if x < n else 1.0
        low, high = (float(v) for v in row["exact 95% CI, % (recomputed)"].split(" to "))
        assert low == pytest.approx(100 * lo, abs=0.05)
        assert high == pytest.approx(100 * hi, abs=0.05)
        # the page says the recomputed exact CIs equal the printed ones: they do
        assert (f"{row['observed %']} ({row['exact 95% CI, % (recomputed)']})"
                == row["published % (95% CI)"])
    first = table.iloc[0]
    assert (first["factor"], first["CR / patients"], first["exact 95% CI, % (recomputed)"]) \
        == ("all", "27/70", "27.2 to 51.0")


def test_prior_table_is_the_closed_form_of_the_priors():
    table = prior_table()
    assert list(table["prior set"]) == ["tau_hn1", "tau_hn05", "tau_hn1", "tau_hn05"]
    assert table["specs"].iloc[2] == "age_exnex"
    for _, row in table.iterrows():
        sigma = 1.0 if row["prior set"] == "tau_hn1" else 0.5
        assert row["τ"] == f"half-normal({sigma:g})"
        lo, hi = special.expit(stats.norm(np.log(0.3 / 0.7), 1.5).ppf([0.025, 0.975]))
        assert row["typical CR rate, 95% prior"] == f"{100 * lo:.1f}% to {100 * hi:.1f}%"
        assert float(row["prior median of τ"]) == pytest.approx(sigma * 0.6745, abs=0.005)
        assert float(row["P(τ > 1)"]) == pytest.approx(2 * stats.norm.sf(1 / sigma), abs=0.005)
    # Monte Carlo check of the one-subgroup interval (τ integrated out)
    rng = np.random.default_rng(1)
    draws = special.expit(rng.normal(-0.8473, 1.5, 400_000)
                          + np.abs(rng.normal(0, 1.0, 400_000)) * rng.normal(size=400_000))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    row = table.iloc[0]
    assert row["one subgroup's CR rate, 95% prior"] == "1.2% to 93.8%"
    assert (lo, hi) == pytest.approx((0.012, 0.938), abs=0.002)
    # the numbers the prose quotes
    assert row["P(τ > 1)"] == "0.32" and table.iloc[1]["odds ratio, 95%, at the median τ"] == "2.5"
    assert table.iloc[3]["NEX prior (EXNEX), 95% of the CR rate"] == \
        "N(-0.8473, 2.18²): 0.6% to 96.8%, w = 0.5"


def test_settings_table_is_the_specs():
    table = settings_table().set_index("spec")
    assert list(table.index) == list(SUBGROUP_SPECS)
    for name in SUBGROUP_SPECS:
        s = load_subgroup_spec(name).sampler
        assert table.loc[name, "draws per chain"] == str(s.draws)
        assert table.loc[name, "target_accept"] == f"{s.target_accept:g}"
    # the values the prose explains
    assert table.loc["subgroups_age", "target_accept"] == "0.99"
    assert table.loc["subgroups_age_exnex", "target_accept"] == "0.95"
    assert table.loc["subgroups_age_exnex", "model"] == "EXNEX, w = 0.5"
    assert table.loc["subgroups_refractory", "contrasts"] == "p(no) - p(yes)"
    assert table.loc["subgroups_region", "compared with (LOO)"] == "—"


def test_exact_table_no_and_complete_pooling_are_the_conjugate_betas(exact):
    data = load_subgroups()
    assert len(exact) == len(data[data["factor"] != "all"])
    for (factor, level), row in exact.iterrows():
        r = data[(data["factor"] == factor) & (data["level"] == level)].iloc[0]
        x, n = int(r["cr"]), int(r["n"])
        none = stats.beta(1 + x, 1 + n - x)
        assert _mean_sd(row["no pooling, Beta(1, 1)"]) == pytest.approx(
            (none.mean(), none.std()), abs=5e-4)
        complete = stats.beta(1 + 27, 1 + 70 - 27)  # all levels share one rate
        assert _mean_sd(row["complete pooling, Beta(1, 1)"]) == pytest.approx(
            (complete.mean(), complete.std()), abs=5e-4)
    assert exact.loc[("age", "<2"), "partial pooling, tau_hn1"] == "0.467 (0.120)"
    assert exact.loc[("previous_relapses", "0"), "observed"] == "0.000"


def test_partial_pooling_shrinks_the_spread_of_the_levels(exact):
    for factor in exact.index.get_level_values("factor").unique():
        rows = exact.loc[factor]
        spread = {col: np.ptp([_mean_sd(v)[0] for v in rows[col]])
                  for col in ("no pooling, Beta(1, 1)", "partial pooling, tau_hn1",
                              "partial pooling, tau_hn05")}
        # the smaller τ prior shrinks more; complete pooling has no spread
        assert spread["partial pooling, tau_hn05"] < spread["partial pooling, tau_hn1"] \
            < spread["no pooling, Beta(1, 1)"], factor
        assert np.ptp([_mean_sd(v)[0] for v in rows["complete pooling, Beta(1, 1)"]]) == 0


def test_contrast_table_no_pooling_is_the_difference_of_two_betas():
    table = contrast_table().set_index("factor")
    assert list(table.index) == ["age", "marrow_blasts", "refractory"]
    # p(<2) - p(7-17): Beta(7, 5) against Beta(14, 28)
    a, b = stats.beta(7, 5), stats.beta(14, 28)
    row = table.loc["age"]
    assert row["contrast"] == "p(<2) - p(7-17)"
    assert _mean_sd(row["no pooling, Beta(1, 1)"]) == pytest.approx(
        (a.mean() - b.mean(), np.sqrt(a.var() + b.var())), abs=5e-4)
    rng = np.random.default_rng(2)
    mc = np.mean(a.rvs(400_000, random_state=rng) > b.rvs(400_000, random_state=rng))
    assert float(row["no pooling: P(diff > 0)"]) == pytest.approx(mc, abs=0.003)
    assert row["no pooling: P(diff > 0)"] == "0.942"
    assert table.loc["refractory", "partial pooling, tau_hn1"] == "0.106 (0.104)"


def test_tau_table_and_the_prior_means_it_is_read_against():
    table = tau_table().set_index("factor")
    assert list(table.index) == [s.removeprefix("subgroups_") for s in PARTIAL]
    assert table.loc["previous_relapses", "levels"] == "4"
    assert table.loc["age", "τ, tau_hn1"] == "0.531 (0.426)"
    for factor in table.index:  # the smaller prior on τ gives the smaller posterior
        assert _mean_sd(table.loc[factor, "τ, tau_hn05"])[0] < \
            _mean_sd(table.loc[factor, "τ, tau_hn1"])[0]
    assert tau_prior_means() == ["0.80 under half-normal(1)", "0.40 under half-normal(0.5)"]


def test_exnex_table():
    table = exnex_table()
    assert list(table["level"]) == ["<2", "<2", "2-6", "2-6", "7-17", "7-17",
                                    "p(<2) - p(7-17)", "p(<2) - p(7-17)"]
    ex = table[table["P(exchangeable)"] != "—"]
    assert all(0 < float(p) < 1 for p in ex["P(exchangeable)"])
    assert table.iloc[0]["P(exchangeable)"] == "0.571"
    assert table.iloc[0]["CR rate, mean (SD)"] == "0.529 (0.142)"
    assert table.iloc[6]["CR rate, mean (SD)"] == "0.192 (0.160)"
