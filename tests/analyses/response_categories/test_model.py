"""Response categories on one's own trial: inline rows, their rules, and the exact posterior."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesblina.analyses.registry import load_spec
from bayesblina.analyses.response_categories.model import ResponseCategoriesModel
from bayesblina.core.spec import SummarySettings
from bayesblina.errors import SpecError

HEAD = """[analysis]
name = "bad_spec"
title = "t"
question = "q"
model = "response_categories"

"""
ROWS = """[data]
population = "my_trial"
rows = [
  { category = "cr", count = 12 },
  { category = "partial_remission", count = 5 },
  { category = "no_response", count = 23 },
]
"""
PRIOR = '\n[priors.flat]\ntheta = { family = "dirichlet", a = [1, 1, 1, 1] }\n'


def test_inline_rows_with_an_mrd_split_give_the_conjugate_posterior(write_spec):
    spec = load_spec(write_spec(HEAD + ROWS + "cr_mrd = { complete = 7, unknown = 1 }\n" + PRIOR))
    model = ResponseCategoriesModel.from_spec(spec)
    assert model.categories() == ["cr_complete_mrd", "cr_other", "partial_remission",
                                  "no_response"]
    np.testing.assert_array_equal(model.counts(), [7, 5, 5, 23])
    exact = model.exact_table(SummarySettings()).set_index(["quantity", "population"])
    # P(CR) is Beta(1 + 1 + 12, 1 + 1 + 28): the two CR cells pooled
    assert exact.loc[("p_cr", "P(CR)"), "mean"] == pytest.approx(stats.beta(14, 30).mean())
    ref = model.reference_table().set_index("population")
    assert (ref.loc["P(complete MRD | CR)", "x"], ref.loc["P(complete MRD | CR)", "n"]) == (7, 12)
    assert ref["published_pct"].isna().all() and (ref["source"] == "spec").all()


def test_inline_rows_without_a_split_need_the_split_switched_off(write_spec):
    with pytest.raises(SpecError, match=r"'options.split_cr_by_mrd'.*split_cr_by_mrd = false"):
        load_spec(write_spec(HEAD + ROWS + PRIOR))
    spec = load_spec(write_spec(HEAD + ROWS + "\n[options]\nsplit_cr_by_mrd = false\n"
                                + PRIOR.replace("1, 1, 1, 1", "1, 1, 1")))
    assert ResponseCategoriesModel.from_spec(spec).categories() == [
        "cr", "partial_remission", "no_response"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (ROWS.replace("count = 5", "count = true"),
         r"'data.rows': rows.1, column 'count': value True is invalid: a count must be a whole "
         r"number from 0 to 10,000,000 \(not a boolean\)"),
        (ROWS.replace("count = 5", 'count = "5"'),
         r"'data.rows': rows.1, column 'count': value '5' is invalid: .* \(not a string\)"),
        (ROWS.replace("count = 5", "count = 5.0"),
         r"'data.rows': rows.1, column 'count': value 5.0 .* \(not a decimal number\)"),
        (ROWS.replace("count = 5", "count = -1"),
         r"'data.rows': rows.1, column 'count': value -1 is invalid: a count cannot be negative"),
        (ROWS.replace('"partial_remission"', '"cr"'),
         r"'data.rows': rows.0, rows.1: duplicated row \(category = 'cr'\)"),
        (ROWS + 'file = "x.csv"\n', "not both"),
        (ROWS + "cr_mrd = { complete = 10, unknown = 3 }\n", r"exceed the 12 CRs"),
        (ROWS.replace('"cr"', '"complete"') + "cr_mrd = { complete = 1 }\n", "need a category 'cr'"),
        ('[data]\ncr_mrd = { complete = 1 }\n', "goes with inline 'rows'"),
    ],
)
def test_bad_inline_rows_are_one_clear_error(write_spec, tmp_path, data, match):
    (tmp_path / "x.csv").write_text("category,count\n")  # a file that exists, beside the spec
    path = write_spec(HEAD + data + PRIOR, folder=tmp_path)
    with pytest.raises(SpecError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)
