"""Spec text for the dose-toxicity tests: a BLRM or CRM spec with the options it must state."""

from __future__ import annotations

import re

HEAD = '[analysis]\nname = "bad_spec"\ntitle = "t"\nquestion = "q"\nmodel = "{model}"\n'
BLRM_PRIOR = '[priors.p]\ntheta = { family = "bivariate_normal", mean = [-1.4, 0], sd = [2, 1] }\n'
CRM_PRIOR = '[priors.p]\nbeta = { family = "normal", mu = 0, sigma = 1.16 }\n'

#: the options a dose-toxicity spec must state (the doses are data of a spec, never defaults)
REQUIRED = {
    "blrm": {"d_ref": "15.0", "dose_grid": "[5.0, 10.0, 15.0, 20.0, 30.0, 40.0]",
             "studied_doses": "[5.0, 15.0, 30.0]"},
    "crm": {"dose_levels": "[5.0, 15.0, 30.0]", "skeleton": "[0.08, 0.16, 0.30]"},
}


def with_required(model: str, options: str) -> str:
    """``options`` (a TOML ``[options]`` table or nothing) with the required keys it lacks."""
    text = options if "[options]" in options else "[options]\n" + options
    for key, value in REQUIRED[model].items():
        if not re.search(rf"^{key}\s*=", text, flags=re.MULTILINE):
            text += f"{key} = {value}\n"
    return text


def spec_text(model: str, data: str, options: str = "") -> str:
    """A whole spec: head, ``data``, ``options`` completed with the required keys, a prior."""
    prior = BLRM_PRIOR if model == "blrm" else CRM_PRIOR
    return HEAD.format(model=model) + data + with_required(model, options) + prior
