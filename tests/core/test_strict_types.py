"""Issue 10, item 1: TOML values are taken at their TOML type, finite and within range.

Every case is a small edit of a valid spec; each must give one error (``check`` exits 2, no
traceback) naming the file, the key and what is allowed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bayesblina.analyses.registry import load_spec
from bayesblina.analyses.response_rate.model import BetaBinomialModel
from bayesblina.cli import main
from bayesblina.core.priors import HYPER_MAX, HYPER_MIN_POSITIVE
from bayesblina.data.tables import MAX_COUNT
from bayesblina.errors import BayesblinaError

GOOD = """\
[analysis]
name = "bad_spec"
title = "t"
question = "q"
model = "beta_binomial"

[data]
rows = [{ label = "a", x = 3, n = 10 }, { label = "b", x = 4, n = 12 }]

[priors.flat]
p = { family = "beta", alpha = 1.0, beta = 1.0 }

[sampler]
draws = 1000
chains = 4
seed = 2016
target_accept = 0.9

[gate]
rhat_max = 1.01
max_divergences = 0

[summary]
ci_prob = 0.95
thresholds = [0.1, 0.275]
"""

PRIOR = 'p = { family = "beta", alpha = 1.0, beta = 1.0 }'
ROWS = 'rows = [{ label = "a", x = 3, n = 10 }, { label = "b", x = 4, n = 12 }]'

#: (case, text replaced, replacement, pieces the one error must contain)
CASES = [
    ("draws as string", "draws = 1000", 'draws = "300"',
     ["'sampler.draws'", "must be an integer", "'300'", "a string"]),
    ("draws as decimal", "draws = 1000", "draws = 300.0",
     ["'sampler.draws'", "must be an integer", "a decimal number"]),
    ("chains as boolean", "chains = 4", "chains = true",
     ["'sampler.chains'", "must be an integer", "a boolean"]),
    ("seed as string", "seed = 2016", 'seed = "2016"',
     ["'sampler.seed'", "must be an integer", "a string"]),
    ("target_accept as string", "target_accept = 0.9", 'target_accept = "0.9"',
     ["'sampler.target_accept'", "must be a number", "a string"]),
    ("alpha as string", PRIOR, PRIOR.replace("alpha = 1.0", 'alpha = "1.0"'),
     ["'priors.flat.p.alpha'", "must be a number", "a string"]),
    ("alpha as boolean", PRIOR, PRIOR.replace("alpha = 1.0", "alpha = true"),
     ["'priors.flat.p.alpha'", "must be a number", "a boolean"]),
    ("alpha infinite", PRIOR, PRIOR.replace("alpha = 1.0", "alpha = inf"),
     ["'priors.flat.p.alpha'", "finite number", "inf"]),
    ("alpha nan", PRIOR, PRIOR.replace("alpha = 1.0", "alpha = nan"),
     ["'priors.flat.p.alpha'", "finite number", "nan"]),
    ("alpha and beta huge", PRIOR, PRIOR.replace("1.0", "1e308"),
     ["'priors.flat.p.alpha'", "less than or equal to 1000000"]),
    ("beta tiny", PRIOR, PRIOR.replace("beta = 1.0", "beta = 1e-300"),
     ["'priors.flat.p.beta'", "greater than or equal to 0.000001"]),
    ("x and n booleans", ROWS, ROWS.replace("x = 3, n = 10", "x = true, n = true"),
     ["'data.rows'", "rows.0, column 'x'", "not a boolean"]),
    ("x as string", ROWS, ROWS.replace("x = 3", 'x = "3"'),
     ["'data.rows'", "rows.0, column 'x'", "not a string"]),
    ("n = 2**62", ROWS, ROWS.replace("n = 10", f"n = {2**62}"),
     ["'data.rows'", "rows.0, column 'n'", f"at most {MAX_COUNT:,}"]),
    ("no rows", ROWS, "rows = []", ["'data.rows'", "no rows"]),
    ("duplicate labels", ROWS, ROWS.replace('"b"', '"a"'),
     ["'data.rows'", "rows.0, rows.1", "duplicated row", "label = 'a'"]),
    ("ci_prob as string", "ci_prob = 0.95", 'ci_prob = "0.95"',
     ["'summary.ci_prob'", "must be a number", "a string"]),
    ("threshold infinite", "thresholds = [0.1, 0.275]", "thresholds = [0.1, inf]",
     ["'summary.thresholds.1'", "finite number"]),
    ("rhat_max as string", "rhat_max = 1.01", 'rhat_max = "1.01"',
     ["'gate.rhat_max'", "must be a number", "a string"]),
    ("max_divergences as boolean", "max_divergences = 0", "max_divergences = false",
     ["'gate.max_divergences'", "must be an integer", "a boolean"]),
    ("allow_weak_gate as string", "max_divergences = 0",
     'max_divergences = 0\nallow_weak_gate = "yes"',
     ["'gate.allow_weak_gate'", "must be a boolean", "a string"]),
    ("title as number", 'title = "t"', "title = 5",
     ["'analysis.title'", "must be a string", "an integer"]),
    ("model as number", 'model = "beta_binomial"', "model = 5",
     ["'analysis.model'", "must be a string", "an integer"]),
    ("analysis not a table", '[analysis]\nname = "bad_spec"\ntitle = "t"\nquestion = "q"\n'
     'model = "beta_binomial"\n', "analysis = 5\n",
     ["key 'analysis'", "must be a table", "an integer"]),
    ("prior set not a table", "[priors.flat]\n" + PRIOR, "[priors]\nflat = 3",
     ["key 'priors.flat'", "must be a table", "an integer"]),
]


def bad_text(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


def test_the_good_spec_loads(write_spec):
    spec = load_spec(write_spec(GOOD))
    assert spec.sampler.draws == 1000 and spec.priors["flat"].p.alpha == 1.0


@pytest.mark.parametrize(("case", "old", "new", "pieces"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_one_error_naming_file_key_and_rule(write_spec, capsys, case, old, new,
                                                          pieces):
    path = write_spec(bad_text(old, new))
    with pytest.raises(BayesblinaError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: "), msg
    for piece in pieces:
        assert piece in msg, msg
    code = main(["check", str(path)])
    out, errtext = capsys.readouterr()
    assert code == 2
    assert errtext == f"error: {msg}\n"
    assert "Traceback" not in out + errtext


def test_data_not_a_table_is_named(write_spec):
    text = "data = 5\n" + GOOD.replace("[data]\n" + ROWS, "")
    with pytest.raises(BayesblinaError, match=r"key 'data': must be a table \(got 5, an integer"):
        load_spec(write_spec(text))


def test_every_problem_of_a_section_is_listed_one_line_each(write_spec):
    path = write_spec(bad_text(PRIOR, PRIOR.replace("1.0", "1e308")))
    with pytest.raises(BayesblinaError) as err:
        load_spec(path)
    lines = str(err.value).splitlines()
    assert [line.split("'")[1] for line in lines] == ["priors.flat.p.alpha", "priors.flat.p.beta"]
    assert all(line.startswith(f"{path}: key ") for line in lines)


@pytest.mark.parametrize(
    ("flag", "value"), [("--draws", "300.5"), ("--chains", "two"), ("--seed", "")]
)
def test_command_line_overrides_are_integers(capsys, flag, value):
    with pytest.raises(SystemExit) as exc:
        main(["run", "overall_cr", flag, value])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_overrides_are_checked_strictly_by_the_spec(write_spec):
    spec = load_spec(write_spec(GOOD))
    with pytest.raises(BayesblinaError, match=r"'sampler.chains': must be an integer .*boolean"):
        spec.with_sampler(chains=True)


@pytest.mark.parametrize("alpha", [HYPER_MIN_POSITIVE, 1.0, HYPER_MAX])
def test_prior_limits_are_what_the_sampler_evaluates(write_spec, alpha):
    """At the stated limits the model's log density and its gradient are finite."""
    prior = f'p = {{ family = "beta", alpha = {alpha!r}, beta = {alpha!r} }}'
    spec = load_spec(write_spec(bad_text(PRIOR, prior)))
    model = BetaBinomialModel.from_spec(spec, "flat").build()
    point = model.initial_point()
    logp = model.compile_logp()(point)
    grad = model.compile_dlogp()(point)
    assert math.isfinite(logp) and np.all(np.isfinite(grad))


def test_count_limit_is_what_the_sampler_evaluates(write_spec):
    rows = ROWS.replace("x = 3, n = 10", f"x = {MAX_COUNT // 3}, n = {MAX_COUNT}")
    spec = load_spec(write_spec(bad_text(ROWS, rows)))
    model = BetaBinomialModel.from_spec(spec, "flat").build()
    point = model.initial_point()
    assert math.isfinite(model.compile_logp()(point))
    assert np.all(np.isfinite(model.compile_dlogp()(point)))
