"""The overall-CR page's tables (:mod:`bayesblina.analyses.response_rate.tables`).

The tables are computed when the docs are built; here they are checked against the
conjugate Beta posterior computed from the packaged counts with scipy, and a few printed
numbers the page's prose quotes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scipy import stats

from bayesblina.analyses.response_rate.tables import (
    load_response_rate_spec,
    posterior_table,
    prior_table,
    prob_text,
    threshold_text,
)
from bayesblina.data import load_table2_proportions
from bayesblina.errors import SpecError

ROOT = Path(__file__).resolve().parents[3]
PRIORS = {"uniform": (1.0, 1.0), "jeffreys": (0.5, 0.5), "sceptical": (2.0, 18.0),
          "enthusiastic": (5.5, 14.5)}


def test_prob_and_threshold_text():
    assert prob_text(0.9995) == "> 0.999"
    assert prob_text(0.0004) == "< 0.001"
    assert prob_text(0.5) == "0.500"
    assert threshold_text(0.1) == "0.10"
    assert threshold_text(0.275) == "0.275"


def test_prior_table_is_the_closed_form_of_the_spec():
    table = prior_table().set_index("prior set")
    assert list(table.index) == list(PRIORS)
    for name, (a, b) in PRIORS.items():
        row, dist = table.loc[name], stats.beta(a, b)
        assert row["prior on p"] == f"Beta({a:g}, {b:g})"
        assert float(row["prior mean"]) == pytest.approx(a / (a + b), abs=5e-4)
        assert float(row["effective sample size (patients)"]) == a + b
        assert float(row["P(p > 0.275)"]) == pytest.approx(dist.sf(0.275), abs=5e-4)
        assert float(row["P(p < 0.10)"]) == pytest.approx(dist.cdf(0.10), abs=5e-4)
    # the numbers the prose quotes
    assert table.loc["sceptical", "P(p > 0.275)"] == "0.018"
    assert table.loc["enthusiastic", "P(p < 0.10)"] == "0.018"


def test_posterior_table_is_the_conjugate_posterior_of_the_packaged_counts():
    table2 = load_table2_proportions()
    cr = table2[table2["quantity"] == "cr"].set_index("population")
    table = posterior_table()
    assert len(table) == 2 * len(PRIORS)
    for _, row in table.iterrows():
        a, b = PRIORS[row["prior set"]]
        x, n = int(cr.loc[row["population"], "x"]), int(cr.loc[row["population"], "n"])
        post = stats.beta(a + x, b + n - x)
        assert row["posterior"] == f"Beta({a + x:g}, {b + n - x:g})"
        assert float(row["mean"]) == pytest.approx(post.mean(), abs=5e-4)
        lo, hi = (float(v) for v in row["95% equal-tailed interval"].split(" to "))
        assert lo == pytest.approx(post.ppf(0.025), abs=5e-4)
        assert hi == pytest.approx(post.ppf(0.975), abs=5e-4)
        assert row["P(p > 0.10 | data)"] == "> 0.999"
        assert float(row["P(p > 0.275 | data)"]) == pytest.approx(post.sf(0.275), abs=5e-4)


def test_posterior_table_key_numbers():
    table = posterior_table().set_index(["population", "prior set"])
    assert table.loc[("all_5_15", "uniform"), "posterior"] == "Beta(28, 44)"
    assert table.loc[("all_5_15", "uniform"), "95% equal-tailed interval"] == "0.280 to 0.503"
    assert table.loc[("all_5_15", "sceptical"), "P(p > 0.275 | data)"] == "0.831"
    assert table.loc[("phase_2", "sceptical"), "P(p > 0.275 | data)"] == "0.309"
    assert table.loc[("phase_2", "uniform"), "P(p > 0.275 | data)"] == "0.765"


def test_tables_read_a_spec_file_with_inline_rows(tmp_path):
    text = (ROOT / "models" / "overall_cr.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition("[data]")
    _, _, rest = rest.partition("[priors.uniform]")
    spec = tmp_path / "overall_cr.toml"
    spec.write_text(f'{head}[data]\nrows = [{{ label = "trial", x = 3, n = 10 }}]\n\n'
                    f"[priors.uniform]{rest}", encoding="utf-8")
    table = posterior_table(spec).set_index("prior set")
    assert table.loc["uniform", "posterior"] == "Beta(4, 8)"
    assert float(table.loc["uniform", "mean"]) == pytest.approx(4 / 12, abs=5e-4)
    assert len(prior_table(str(spec))) == len(PRIORS)


def test_spec_of_another_room_is_refused(tmp_path):
    with pytest.raises(SpecError, match="response-rate room"):
        load_response_rate_spec("dose_toxicity_blrm")
    shutil.copy(ROOT / "models" / "survival_os.toml", tmp_path / "survival_os.toml")
    with pytest.raises(SpecError, match="response-rate room"):
        prior_table(tmp_path / "survival_os.toml")
