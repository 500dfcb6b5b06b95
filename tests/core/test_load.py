"""Spec validation: every bad input gives one error naming the file, key and what is allowed."""

from __future__ import annotations

import pytest

from bayesblina.analyses.registry import discover_specs, load_spec
from bayesblina.core.priors import BetaPrior
from bayesblina.errors import SpecError

GOOD = """
[analysis]
name = "{name}"
title = "t"
question = "q"
model = "beta_binomial"

[data]
rows = [{{ label = "a", x = 3, n = 10 }}]

[priors.flat]
p = {{ family = "beta", alpha = 1, beta = 1 }}
{extra}
"""


def spec_text(name: str = "bad_spec", extra: str = "") -> str:
    return GOOD.format(name=name, extra=extra)


def test_packaged_specs_load():
    paths = discover_specs()
    assert [p.stem for p in paths] == sorted(p.stem for p in paths)
    for path in paths:
        spec = load_spec(path)
        assert spec.name == path.stem
        assert spec.priors


def test_overall_spec_has_the_named_prior_sets(overall_spec):
    assert {"uniform", "jeffreys", "sceptical", "enthusiastic"} <= set(overall_spec.priors)
    sceptical = overall_spec.priors["sceptical"].p
    enthusiastic = overall_spec.priors["enthusiastic"].p
    assert isinstance(sceptical, BetaPrior)
    assert sceptical.mean == pytest.approx(0.10)
    assert enthusiastic.mean == pytest.approx(0.275)
    assert overall_spec.summary.thresholds == [0.10, 0.275]
    assert overall_spec.gate.rhat_max == 1.01 and overall_spec.gate.ess_bulk_min == 400


def test_minimal_spec_gets_default_sampler_and_gate(write_spec):
    spec = load_spec(write_spec(spec_text()))
    assert spec.sampler.backend == "pymc"
    assert (spec.gate.rhat_max, spec.gate.ess_bulk_min, spec.gate.ess_tail_min) == (1.01, 400, 400)
    assert (spec.gate.max_divergences, spec.gate.ebfmi_min) == (0, 0.3)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # unknown key at the top of a section, with the allowed keys listed
        ("[sampler]\ndrawz = 10", ["'sampler.drawz'", "unknown key", "allowed keys", "draws"]),
        # unknown top-level table
        ("[extras]\nx = 1", ["unknown key 'extras'"]),
        # wrong type
        ('[sampler]\ndraws = "many"', ["'sampler.draws'", "integer", "'many'"]),
        # value out of range
        ("[sampler]\ntarget_accept = 1.5", ["'sampler.target_accept'", "less than 1", "1.5"]),
        ("[gate]\nrhat_max = 0.9", ["'gate.rhat_max'", "greater than or equal to 1"]),
        ("[summary]\nthresholds = [0.1, 1.2]", ["'summary.thresholds.1'", "less than 1"]),
        ('[sampler]\nbackend = "stan"', ["'sampler.backend'", "'pymc'", "'nutpie'"]),
    ],
)
def test_bad_shell_values(write_spec, extra, expected):
    path = write_spec(spec_text(extra=extra))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg
    for piece in expected:
        assert piece in msg


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        # negative scale
        ('{ family = "beta", alpha = 1, beta = -9 }', ["'priors.flat.p.beta'", "greater than or equal to 0.000001", "-9"]),
        # unknown family
        ('{ family = "gama", alpha = 1 }', ["'priors.flat.p.family'", "unknown prior family", "'gama'", "beta"]),
        # a family that exists but is not allowed for a proportion
        ('{ family = "normal", mu = 0, sigma = 1 }', ["'priors.flat.p'", "beta"]),
        # unknown hyperparameter
        ('{ family = "beta", alpha = 1, beta = 1, scale = 2 }', ["unknown key 'priors.flat.p.scale'", "alpha"]),
        # missing hyperparameter
        ('{ family = "beta", alpha = 1 }', ["missing required key 'priors.flat.p.beta'"]),
    ],
)
def test_bad_priors(write_spec, prior, expected):
    text = spec_text().replace('{ family = "beta", alpha = 1, beta = 1 }', prior)
    path = write_spec(text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg
    for piece in expected:
        assert piece in msg, msg


def test_unknown_model(write_spec):
    path = write_spec(spec_text().replace('"beta_binomial"', '"beta_binomal"'))
    with pytest.raises(SpecError, match=r"unknown model 'beta_binomal'; allowed: \['beta_binomial'"):
        load_spec(path)


def test_inline_rows_with_responders_above_patients(write_spec):
    path = write_spec(spec_text().replace("x = 3, n = 10", "x = 12, n = 10"))
    with pytest.raises(SpecError, match=r"key 'data.rows': rows.0, column 'x': value 12 is invalid: it exceeds n = 10"):
        load_spec(path)


def test_data_needs_exactly_one_source(write_spec):
    text = spec_text().replace("[data]\n", '[data]\ntable = "table2_proportions"\n')
    with pytest.raises(SpecError, match="exactly one of 'table'"):
        load_spec(write_spec(text))


def test_name_must_match_file(write_spec):
    path = write_spec(spec_text(name="other"), name="bad_spec")
    with pytest.raises(SpecError, match="must equal the file name 'bad_spec'"):
        load_spec(path)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match=r"spec file not found: .*nope.toml"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "broken.toml"
    bad.write_text("[analysis\nname=")
    with pytest.raises(SpecError, match=r"broken.toml: not valid TOML"):
        load_spec(bad)


def test_no_prior_set(write_spec):
    text = spec_text().split("[priors.flat]")[0]
    with pytest.raises(SpecError, match=r"missing required table \[priors"):
        load_spec(write_spec(text))


def test_sampler_override_is_validated(overall_spec):
    with pytest.raises(SpecError, match=r"'sampler.draws'.*greater than or equal to 1"):
        overall_spec.with_sampler(draws=0)
    assert overall_spec.with_sampler(seed=7).sampler.seed == 7
