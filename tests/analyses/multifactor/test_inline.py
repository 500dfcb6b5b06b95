"""Several factors at once on one's own trial: margins given inline in the spec.

* an inline trial loads, its parts, blast groups, factors and levels come from its rows
  (in the order they first appear, or an explicit order), and it fits;
* bad inline margins are one clear error naming the row or the margin;
* this trial's packaged margins keep the parts, levels, terms and contrasts they had.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from bayesblina.analyses.multifactor.model import MultifactorModel, inline_margins
from bayesblina.analyses.registry import parse_spec
from bayesblina.core.spec import AnalysisSpec, GateThresholds, SamplerSettings
from bayesblina.errors import DataError, SpecError
from bayesblina.reconstruct.margins import LEVELS, Margins, published_margins

KNOWN = "phase x marrow_blasts x cr"


def _known(phase: str, blasts: str, cr: int, count: int) -> dict[str, Any]:
    return {"margin": KNOWN, "phase": phase, "marrow_blasts": blasts, "cr": cr, "count": count}


def _row(margin: str, factor: str, level: str, count: int, **by: Any) -> dict[str, Any]:
    return {"margin": margin, "factor": factor, "level": level, **by, "count": count}


#: a made-up trial of 50 patients (19 CRs) in two parts, two latent factors
ROWS: list[dict[str, Any]] = [
    _known("part_a", "<50%", 1, 6), _known("part_a", "<50%", 0, 2),
    _known("part_a", ">=50%", 1, 4), _known("part_a", ">=50%", 0, 8),
    _known("part_b", "<50%", 1, 5), _known("part_b", "<50%", 0, 5),
    _known("part_b", ">=50%", 1, 4), _known("part_b", ">=50%", 0, 16),
    _row("phase x refractory", "refractory", "yes", 8, phase="part_a"),
    _row("phase x refractory", "refractory", "no", 12, phase="part_a"),
    _row("phase x refractory", "refractory", "yes", 18, phase="part_b"),
    _row("phase x refractory", "refractory", "no", 12, phase="part_b"),
    _row("cr x refractory", "refractory", "yes", 7, cr=1),
    _row("cr x refractory", "refractory", "yes", 19, cr=0),
    _row("cr x refractory", "refractory", "no", 12, cr=1),
    _row("cr x refractory", "refractory", "no", 12, cr=0),
    _row("phase x age", "age", "<10", 9, phase="part_a"),
    _row("phase x age", "age", ">=10", 11, phase="part_a"),
    _row("phase x age", "age", "<10", 10, phase="part_b"),
    _row("phase x age", "age", ">=10", 20, phase="part_b"),
    _row("cr x age", "age", "<10", 9, cr=1),
    _row("cr x age", "age", "<10", 10, cr=0),
    _row("cr x age", "age", ">=10", 10, cr=1),
    _row("cr x age", "age", ">=10", 21, cr=0),
]
PRIOR = {"mu": {"family": "normal", "mu": -0.85, "sigma": 1.5},
         "tau": {"family": "half_normal", "sigma": 1.0}}


def _spec(rows: list[dict[str, Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {
        "analysis": {"name": "x", "title": "t", "question": "q",
                     "model": "subgroups_multifactor"},
        "data": {"rows": copy.deepcopy(ROWS if rows is None else rows)},
        "options": {"known_factors": ["marrow_blasts"], **options},
        "priors": {"tau_hn1": PRIOR},
        "sampler": {"draws": 100, "tune": 100, "chains": 2, "seed": 1},
    }


def _model(spec: AnalysisSpec) -> MultifactorModel:
    model = MultifactorModel.from_spec(spec)
    assert isinstance(model, MultifactorModel)
    return model


# --------------------------------------------------------------------------------------
# the inline trial: loads, levels from its rows
# --------------------------------------------------------------------------------------


def test_inline_trial_loads_with_levels_from_its_rows() -> None:
    spec = parse_spec(_spec(), where="x.toml")
    model = _model(spec)
    m = model.margins
    assert m.n_patients == 50 and int(m.patients["cr"].sum()) == 19
    assert m.phases == ("part_a", "part_b")
    assert m.levels == {"phase": ("part_a", "part_b"), "marrow_blasts": ("<50%", ">=50%"),
                        "refractory": ("yes", "no"), "age": ("<10", ">=10")}
    assert model.latent == ("refractory", "age")
    assert set(model.data["source"]) == {"spec"}
    coords = model.coords()
    assert coords["factor"] == ["marrow_blasts", "refractory", "age"]
    assert coords["subgroup"] == ["marrow_blasts=<50%", "marrow_blasts=>=50%",
                                  "refractory=yes", "refractory=no", "age=<10", "age=>=10"]
    assert coords["age_level"] == ["<10", ">=10"]
    # no contrast unless options.contrasts names it (this trial's defaults do not apply)
    assert model.contrasts() == [] and "contrast" not in coords
    assert "log_odds_ratio" not in model.gate_vars()
    assert model.raw_margins()["refractory=no"] == (12, 24)
    ref = model.reference_table()
    assert ref["published_pct"].isna().all()  # another trial: no published values
    named = _model(parse_spec(_spec(contrasts=[["age", "<10", ">=10"]]), where="x.toml"))
    assert named.contrasts() == [("age", "<10", ">=10")]
    assert named.coords()["contrast"] == ["age: <10 vs >=10"]


def test_known_margin_rows_may_leave_out_factor_and_level() -> None:
    frame = inline_margins(ROWS)
    known = frame[frame["margin"] == KNOWN]
    assert (known["factor"] == "marrow_blasts").all()
    assert (known["level"] == known["marrow_blasts"]).all()
    assert list(frame["cr"].iloc[:2]) == ["1", "0"] and frame["phase"].iat[12] == ""


def test_levels_follow_the_rows_or_an_explicit_order() -> None:
    frame = inline_margins(ROWS)
    # parts, blasts and a factor's levels in the order they first appear
    flipped = frame.iloc[[4, 5, 6, 7, 0, 1, 2, 3, *range(8, len(frame))]]
    m = Margins(flipped)
    assert m.phases == ("part_b", "part_a")
    assert m.levels["marrow_blasts"] == ("<50%", ">=50%")
    later = frame.iloc[[*range(8), *range(16, 24), *range(8, 16)]]
    assert Margins(later).latent_factors == ("age", "refractory")
    m = Margins(frame, levels={"age": (">=10", "<10"), "phase": ("part_b", "part_a")})
    assert m.levels["age"] == (">=10", "<10") and m.phases == ("part_b", "part_a")
    assert m.latent_factors == ("age", "refractory")  # the explicit order first
    with pytest.raises(DataError, match=r"unknown level\(s\) \['<10'\] of 'age'"):
        Margins(frame, levels={"age": (">=10", "10-14")})


def test_this_trials_margins_keep_their_order() -> None:
    m = published_margins()
    assert m.levels == {k: LEVELS[k] for k in ("phase", "marrow_blasts", "age", "refractory")}
    assert Margins(m.rows).levels == m.levels
    assert m.latent_factors == ("age", "refractory")
    model = MultifactorModel(m.rows, PRIOR)
    assert model.coords()["subgroup"] == [
        "marrow_blasts=<50%", "marrow_blasts=>=50%", "age=<2", "age=2-6", "age=7-17",
        "refractory=yes", "refractory=no"]
    assert model.contrasts() == [("marrow_blasts", "<50%", ">=50%"), ("age", "<2", "7-17"),
                                 ("age", "2-6", "7-17"), ("refractory", "no", "yes")]
    every = published_margins(("age", "refractory", "previous_hsct", "previous_relapses",
                               "region"))
    assert every.levels == LEVELS


# --------------------------------------------------------------------------------------
# bad inline margins: one clear error
# --------------------------------------------------------------------------------------


def _edited(i: int, rows: list[dict[str, Any]] | None = None,
            **change: Any) -> list[dict[str, Any]]:
    """``ROWS`` (or ``rows``) with row ``i`` changed (a key set to None: left out)."""
    rows = copy.deepcopy(ROWS if rows is None else rows)
    rows[i].update(change)
    for k in [k for k, v in change.items() if v is None]:
        del rows[i][k]
    return rows


@pytest.mark.parametrize(
    "rows, message",
    [
        (_edited(3, count=None), r"x.toml: key 'data.rows': rows.3: missing key 'count'"),
        (_edited(9, count=-2), r"rows.9, column 'count': value -2 is invalid: a count "
                               r"cannot be negative"),
        (_edited(13, count=20), r"margin 'cr x refractory' add up to 51 patients, not the 50"),
        (_edited(9, _edited(11, count=13), count=11), r"margin 'phase x refractory', group \{'phase': 'part_a'\}: "
                               r"the levels of 'refractory' add up to 19, but 20 patients"),
        (_edited(20, margin="age x cr"), r"margin 'age x cr' \(factor 'age'\) is of no known "
                                         r"kind"),
        (_edited(12, phase="part_c"), r"margin 'cr x refractory': column 'phase' must be "
                                      r"empty"),
        (_edited(8, phase="part_c"), r"margin 'phase x refractory': unknown phase "
                                     r"\['part_c'\]"),
        (_edited(21, cr=1), r"rows.20, rows.21: duplicated row"),
        (_edited(8, level=None), r"rows.8, column 'level'.*needs its level"),
        (_edited(0, cr=2), r"rows.0, column 'cr': value 2 is invalid: it must be 0 or 1"),
        (ROWS[:20], r"margin 'cr x age' is missing or incomplete"),
        ([*ROWS, _row("refractoryyes x marrow_blasts x cr", "refractory", "yes", 8,
                      marrow_blasts="<50%", cr=1)],
         r"no table of the 50 patients meets every published margin of 'refractory'"),
    ],
)
def test_bad_inline_margins_are_one_clear_error(rows: list[dict[str, Any]],
                                                message: str) -> None:
    with pytest.raises((SpecError, DataError), match=message) as err:
        parse_spec(_spec(rows), where="x.toml")
    assert str(err.value).startswith("x.toml")
    assert "\n" not in str(err.value)


def test_inline_rows_exclude_the_packaged_options() -> None:
    raw = _spec()
    raw["data"]["factors"] = ["age"]
    with pytest.raises(SpecError, match=r"give inline 'rows'.*or the packaged \['factors'\], "
                                        "not both"):
        parse_spec(raw, where="x.toml")
    with pytest.raises(SpecError, match=r"options.contrasts.*unknown level '<2' of 'age'; "
                                        r"allowed: \['<10', '>=10'\]"):
        parse_spec(_spec(contrasts=[["age", "<2", ">=10"]]), where="x.toml")


# --------------------------------------------------------------------------------------
# the inline trial fits
# --------------------------------------------------------------------------------------


@pytest.mark.mcmc
@pytest.mark.parametrize("contrasts", [None, [["refractory", "no", "yes"]]])
def test_inline_trial_fits(contrasts: list[list[str]] | None) -> None:
    options = {"proposals": 1} if contrasts is None else {"proposals": 1,
                                                          "contrasts": contrasts}
    model = _model(parse_spec(_spec(**options), where="x.toml"))
    idata = model.fit(SamplerSettings(draws=100, tune=100, chains=2, cores=1, seed=5))
    post = idata.posterior
    assert list(post["standardised_rate"].coords["subgroup"].values) == \
        model.coords()["subgroup"]
    assert list(post["z_age"].coords["age_level"].values) == ["<10", ">=10"]
    for c in range(post.sizes["chain"]):
        for d in range(0, post.sizes["draw"], 20):
            table = {f: post[f"latent_{f}"].values[c, d] for f in model.latent}
            assert model.margins.violations(table) == []
    assert ("log_odds_ratio" in post) == (contrasts is not None)
    assert np.isfinite(post["standardised_rate"].values).all()
    lax = GateThresholds(rhat_max=100, ess_bulk_min=0, ess_tail_min=0,
                         max_divergences=10**6, ebfmi_min=0, allow_weak_gate=True)
    assert model.gate(idata, lax).passed
    summary = model.summarise(idata, parse_spec(_spec(), where="x.toml").summary)
    assert ("log_odds_ratio" in set(summary["quantity"])) == (contrasts is not None)
    json = model.summary_json(idata, parse_spec(_spec(), where="x.toml"))
    assert set(json["subgroups"]["multifactor"]) == set(model.coords()["subgroup"])
    tables = model.imputed_tables(idata)
    pair = tables[(tables["factor_a"] == "refractory") & (tables["factor_b"] == "age")]
    assert pair["mean_count"].sum() == pytest.approx(50)
