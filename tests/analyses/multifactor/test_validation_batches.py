"""The validation studies' replications run in batches (``run_batches``), resumably.

* a fixed truth's covariates follow the spec's margins, not the margins the model was last
  fitted to (a refitted model holds the previous replication's);
* a reduced SBC gives the same table in one batch or several, and when resumed from a
  folder of finished batches.
"""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bayesblina.analyses.multifactor import validation
from bayesblina.analyses.multifactor.model import MultifactorModel
from bayesblina.analyses.multifactor.validation import TRUTHS, sbc
from bayesblina.core.parallel import batch_path
from bayesblina.core.spec import SamplerSettings
from bayesblina.errors import SpecError
from bayesblina.reconstruct.margins import margins_of, published_margins

PRIOR = {"mu": {"family": "normal", "mu": -0.8473, "sigma": 1.5},
         "tau": {"family": "half_normal", "sigma": 1.0}}
KW = {"data": published_margins().rows, "prior": PRIOR, "options": {"proposals": 1}}


def test_fixed_truth_covariates_follow_the_specs_margins(monkeypatch) -> None:
    """Two runs of one replication simulate the same trial, though the model was refitted."""
    seen: list[pd.DataFrame] = []

    def fit(model: MultifactorModel, pts: pd.DataFrame, settings: SamplerSettings):
        # what the real fit does to the model (its data replaced), without sampling
        model.set_data(margins_of(pts, model.latent).rows)
        seen.append(pts)
        k = len(model.contrasts())
        return az.from_dict(posterior={"log_odds_ratio": np.zeros((2, 10, k))},
                            sample_stats={"diverging": np.zeros((2, 10), dtype=bool)},
                            dims={"log_odds_ratio": ["contrast"]})

    monkeypatch.setattr(validation, "_fit_one", fit)
    task = validation._Replications(KW, ((TRUTHS[2], 0), (TRUTHS[2], 0)), 7,
                                    SamplerSettings(draws=10, tune=10, chains=2), 9, 1,
                                    "test-fixed-covariates")
    first, second = task(0), task(1)
    pd.testing.assert_frame_equal(seen[0], seen[1])
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(SpecError, match="batch_size must be a whole number >= 1"):
        sbc(KW, 2, batch_size=0)


@pytest.mark.mcmc
def test_reduced_sbc_is_the_same_in_batches_and_resumed(tmp_path: Path) -> None:
    s = SamplerSettings(draws=20, tune=20, chains=2, cores=1, target_accept=0.95)
    whole = sbc(KW, 3, seed=7, settings=s, n_keep=9, batch_size=3)
    assert whole["rep"].tolist() == sorted(whole["rep"].tolist())
    assert whole["truth_name"].dtype == object and whole["covered90"].dtype == bool
    out = tmp_path / "sbc"
    pd.testing.assert_frame_equal(sbc(KW, 3, seed=7, settings=s, n_keep=9, out_dir=out), whole)
    batch_path(out, 1).unlink()
    # a rerun computes replication 1 again and reuses the others
    pd.testing.assert_frame_equal(sbc(KW, 3, seed=7, settings=s, n_keep=9, out_dir=out), whole)
    with pytest.raises(SpecError, match="another job"):
        sbc(KW, 3, seed=8, settings=s, n_keep=9, out_dir=out)
