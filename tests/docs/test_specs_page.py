"""Every registered model has a complete, runnable example spec on ``docs/specs.md``.

The examples are the page's fenced ``toml`` blocks whose first line is
``# example: <model>``. Each is written to a file named after its ``analysis.name``,
loaded by :func:`bayesblina.analyses.registry.load_spec` (fast) and run end to end with a
tiny sampler and a lax gate (slow).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bayesblina.analyses.registry import MODELS, load_spec
from bayesblina.core.spec import AnalysisSpec, GateThresholds
from bayesblina.pipeline import run_analysis

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "specs.md"
EXAMPLE = re.compile(r"^```toml\n# example: (?P<model>\S+)\n(?P<body>.*?)^```$",
                     re.MULTILINE | re.DOTALL)
#: models whose [data] has no inline option (the examples use packaged data); a model that
#: gains one must get an inline example
NO_INLINE: set[str] = set()
#: the [data] keys of inline data, per model
INLINE_KEYS = {"beta_binomial": "rows", "blrm": "cohorts", "crm": "cohorts",
               "survival": "rows", "subgroups": "rows", "exnex": "rows",
               "response_categories": "rows", "subgroups_multifactor": "rows"}
LAX_GATE = GateThresholds(rhat_max=100, ess_bulk_min=0, ess_tail_min=0,
                          max_divergences=10**6, ebfmi_min=0, allow_weak_gate=True)


def examples() -> dict[str, str]:
    """The page's examples: model name -> TOML text (one per model)."""
    out: dict[str, str] = {}
    for m in EXAMPLE.finditer(PAGE.read_text(encoding="utf-8")):
        assert m["model"] not in out, f"two examples for {m['model']!r}"
        out[m["model"]] = m["body"]
    return out


EXAMPLES = examples()


def write_example(model: str, folder: Path) -> Path:
    raw = tomllib.loads(EXAMPLES[model])
    path = folder / f"{raw['analysis']['name']}.toml"
    path.write_text(EXAMPLES[model], encoding="utf-8")
    return path


def test_every_registered_model_has_one_example() -> None:
    assert EXAMPLES, "docs/specs.md has no '# example: <model>' toml block"
    assert set(EXAMPLES) == set(MODELS), (
        f"missing: {sorted(set(MODELS) - set(EXAMPLES))}; "
        f"unknown: {sorted(set(EXAMPLES) - set(MODELS))}"
    )
    assert set(INLINE_KEYS) | NO_INLINE == set(MODELS)


def test_the_page_lists_every_registered_model() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for name in MODELS:
        assert f"| `{name}` |" in page, f"the [data] table of docs/specs.md lacks {name!r}"
        assert f"### `{name}`" in page or f"and `{name}`" in page, (
            f"docs/specs.md has no [data] subsection for {name!r}"
        )


@pytest.mark.parametrize("model", sorted(MODELS))
def test_example_is_complete_and_uses_inline_data(model: str) -> None:
    raw = tomllib.loads(EXAMPLES[model])
    assert raw["analysis"]["model"] == model
    assert {"analysis", "data", "priors", "sampler"} <= set(raw)
    assert len(raw["priors"]) == 1
    assert raw["sampler"]["draws"] <= 1000 and raw["sampler"]["chains"] <= 2
    data_fields = set(MODELS[model].DataSpec.model_fields)
    if model in NO_INLINE:
        # no inline option in the model's schema (if one is added, give an inline example)
        assert not data_fields & {"rows", "cohorts"}, f"{model} now takes inline data"
    else:
        key = INLINE_KEYS[model]
        assert key in data_fields
        assert key in raw["data"], f"the {model} example must give its data inline ({key!r})"
        assert not {"table", "factor", "factors"} & set(raw["data"])


@pytest.mark.parametrize("model", sorted(MODELS))
def test_example_loads(model: str, tmp_path: Path) -> None:
    spec = load_spec(write_example(model, tmp_path))
    assert isinstance(spec, AnalysisSpec)
    assert spec.analysis.model == model
    assert len(spec.priors) == 1
    if model not in NO_INLINE:
        rows = getattr(spec.data, INLINE_KEYS[model])
        assert rows and len(rows) >= 2


@pytest.mark.slow
@pytest.mark.mcmc
@pytest.mark.parametrize("model", sorted(MODELS))
def test_example_runs(model: str, tmp_path: Path) -> None:
    spec = load_spec(write_example(model, tmp_path))
    spec = spec.with_sampler(draws=100, tune=100, chains=2)
    spec = spec.model_copy(update={"gate": LAX_GATE})
    result = run_analysis(spec)
    assert result.passed, result.status
    summary = result.summary_table()
    assert len(summary) > 0
    assert set(summary["prior_set"]) == set(spec.priors)
