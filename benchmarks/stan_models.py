"""The default analyses' models written again, independently, in Stan (issue 11, item 2).

Each entry is a Stan program and a function that builds its data from a bayesblina model
(the model's own data arrays and prior hyperparameters, so both fit exactly the same data
under exactly the same prior), plus the parameters whose posterior means are compared.
Not covered, and why: ``exnex`` (a two-component mixture per level; left for a later
round), ``subgroups_multifactor`` (it samples a discrete patient table, which Stan cannot),
survival families other than the Weibull (no default spec fits one as its main model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BETA_BINOMIAL = """
data {
  int<lower=1> K;
  array[K] int<lower=0> x;
  array[K] int<lower=0> n;
  real<lower=0> a;
  real<lower=0> b;
}
parameters { vector<lower=0, upper=1>[K] p; }
model {
  p ~ beta(a, b);
  x ~ binomial(n, p);
}
"""

PARTIAL_POOLING = """
data {
  int<lower=1> K;
  array[K] int<lower=0> x;
  array[K] int<lower=0> n;
  real mu_loc;
  real<lower=0> mu_scale;
  real<lower=0> tau_scale;
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[K] z;
}
transformed parameters { vector[K] theta = mu + tau * z; }
model {
  mu ~ normal(mu_loc, mu_scale);
  tau ~ normal(0, tau_scale);   // half-normal through the lower bound
  z ~ std_normal();
  x ~ binomial_logit(n, theta);
}
generated quantities { vector[K] p = inv_logit(theta); }
"""

BLRM = """
data {
  int<lower=1> C;
  int<lower=1> P;
  matrix[C, P] dose;
  matrix[C, P] weight;     // share of the DLT window spent at each period's dose
  array[C] int<lower=0> patients;
  array[C] int<lower=0> dlts;
  real<lower=0> d_ref;
  vector[2] prior_mean;
  vector<lower=0>[2] prior_sd;
  real<lower=-1, upper=1> prior_corr;
}
transformed data {
  matrix[2, 2] prior_cov = [[square(prior_sd[1]), prior_corr * prior_sd[1] * prior_sd[2]],
                            [prior_corr * prior_sd[1] * prior_sd[2], square(prior_sd[2])]];
}
parameters { vector[2] theta; }   // (log alpha, log beta)
transformed parameters {
  vector[C] p_cohort;
  for (c in 1:C) {
    real log_no_dlt = 0;
    for (j in 1:P) {
      if (weight[c, j] > 0) {
        log_no_dlt -= weight[c, j] * log1p_exp(theta[1] + exp(theta[2]) * log(dose[c, j] / d_ref));
      }
    }
    p_cohort[c] = -expm1(log_no_dlt);
  }
}
model {
  theta ~ multi_normal(prior_mean, prior_cov);
  dlts ~ binomial(patients, p_cohort);
}
"""

CRM_EMPIRIC = """
data {
  int<lower=1> C;
  int<lower=1> P;
  int<lower=1> L;
  array[C, P] int<lower=1, upper=L> level;   // 1-based
  matrix[C, P] weight;
  array[C] int<lower=0> patients;
  array[C] int<lower=0> dlts;
  vector<lower=0, upper=1>[L] skeleton;
  real beta_loc;
  real<lower=0> beta_scale;
}
parameters { real beta; }
transformed parameters {
  vector[L] p_level = exp(exp(beta) * log(skeleton));
  vector[C] p_cohort;
  for (c in 1:C) {
    real log_no_dlt = 0;
    for (j in 1:P) {
      if (weight[c, j] > 0) {
        log_no_dlt += weight[c, j] * log1m(p_level[level[c, j]]);
      }
    }
    p_cohort[c] = -expm1(log_no_dlt);
  }
}
model {
  beta ~ normal(beta_loc, beta_scale);
  dlts ~ binomial(patients, p_cohort);
}
"""

WEIBULL = """
data {
  int<lower=1> N;
  vector<lower=0>[N] t;
  array[N] int<lower=0, upper=1> event;
  vector[N] group;
  int<lower=0, upper=1> covariate;
  int<lower=0, upper=1> ph;                 // effect on the log hazard (PH) or log time (AFT)
  int<lower=0, upper=1> scale_is_log_lambda;  // else the prior is on log(hazard scale)
  real scale_loc;
  real<lower=0> scale_scale;
  real<lower=0> shape_scale;
  real effect_loc;
  real<lower=0> effect_scale;
}
parameters {
  real log_scale;
  real<lower=0> shape;
  array[covariate] real effect;
}
model {
  vector[N] log_lambda = rep_vector(scale_is_log_lambda ? log_scale : -log_scale / shape, N);
  if (covariate) {
    log_lambda += (ph ? -effect[1] / shape : effect[1]) * group;
  }
  log_scale ~ normal(scale_loc, scale_scale);
  shape ~ normal(0, shape_scale);
  if (covariate) effect ~ normal(effect_loc, effect_scale);
  for (i in 1:N) {
    real z = shape * (log(t[i]) - log_lambda[i]);
    target += event[i] ? log(shape) - log(t[i]) + z - exp(z) : -exp(z);
  }
}
"""

DIRICHLET_MULTINOMIAL = """
data {
  int<lower=2> K;
  array[K] int<lower=0> counts;
  vector<lower=0>[K] a;
}
parameters { simplex[K] theta; }
model {
  theta ~ dirichlet(a);
  counts ~ multinomial(theta);
}
"""


@dataclass(frozen=True)
class StanModel:
    """A Stan program, its data from a bayesblina model, and the parameters compared."""

    name: str
    code: str
    data: Any  # (bayesblina model) -> dict
    #: Stan parameter -> bayesblina posterior variable (same shape and order)
    compare: dict[str, str]


def _beta_binomial(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    return {"K": len(v["x"]), "x": v["x"].tolist(), "n": v["n"].tolist(),
            "a": float(h["p__alpha"]), "b": float(h["p__beta"])}


def _partial(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    return {"K": len(v["x"]), "x": v["x"].tolist(), "n": v["n"].tolist(),
            "mu_loc": float(h["mu__mu"]), "mu_scale": float(h["mu__sigma"]),
            "tau_scale": float(h["tau__sigma"])}


def _blrm(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    return {"C": v["period_dose"].shape[0], "P": v["period_dose"].shape[1],
            "dose": np.where(v["period_weight"] > 0, v["period_dose"], 1.0).tolist(),
            "weight": v["period_weight"].tolist(), "patients": v["patients"].tolist(),
            "dlts": v["dlts"].tolist(), "d_ref": float(m.options.d_ref),
            "prior_mean": h["theta__mean"].tolist(), "prior_sd": h["theta__sd"].tolist(),
            "prior_corr": float(h["theta__corr"])}


def _crm(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    return {"C": v["period_level"].shape[0], "P": v["period_level"].shape[1],
            "L": len(v["skeleton"]), "level": (v["period_level"].astype(int) + 1).tolist(),
            "weight": v["period_weight"].tolist(), "patients": v["patients"].tolist(),
            "dlts": v["dlts"].tolist(), "skeleton": v["skeleton"].tolist(),
            "beta_loc": float(h["beta__mu"]), "beta_scale": float(h["beta__sigma"])}


def _weibull(m: Any) -> dict[str, Any]:
    v, h, o = m.data_values(), m.prior_values(), m.options
    return {"N": len(v["t"]), "t": v["t"].tolist(), "event": v["event"].tolist(),
            "group": v["group"].astype(float).tolist(), "covariate": int(o.covariate),
            "ph": int(o.form == "ph"), "scale_is_log_lambda": int(o.scale_prior == "log_lambda"),
            "scale_loc": float(h["log_scale__mu"]), "scale_scale": float(h["log_scale__sigma"]),
            "shape_scale": float(h["shape__sigma"]),
            "effect_loc": float(h.get("effect__mu", 0.0)),
            "effect_scale": float(h.get("effect__sigma", 1.0))}


def _dirichlet(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    counts = v["counts"] if "counts" in v else v["x"]
    return {"K": len(counts), "counts": np.asarray(counts, dtype=int).tolist(),
            "a": h["theta__a"].tolist()}


#: bayesblina model name -> its Stan counterpart (for the options the default specs use)
STAN_MODELS: dict[str, StanModel] = {
    "beta_binomial": StanModel("beta_binomial", BETA_BINOMIAL, _beta_binomial, {"p": "p"}),
    "subgroups": StanModel("partial_pooling", PARTIAL_POOLING, _partial,
                           {"mu": "mu", "tau": "tau", "p": "p"}),
    "blrm": StanModel("blrm", BLRM, _blrm, {"theta": "theta", "p_cohort": "p_cohort"}),
    "crm": StanModel("crm_empiric", CRM_EMPIRIC, _crm, {"beta": "beta", "p_level": "p_level"}),
    "survival": StanModel("weibull", WEIBULL, _weibull,
                          {"log_scale": "log_scale", "shape": "shape", "effect": "effect"}),
    "response_categories": StanModel("dirichlet_multinomial", DIRICHLET_MULTINOMIAL,
                                     _dirichlet, {"theta": "theta"}),
}


def supported(model: Any) -> str:
    """Why a bayesblina model has no Stan counterpart here ('' when it has one)."""
    name = model.name
    if name not in STAN_MODELS:
        return {"exnex": "a mixture per level: not written in Stan yet",
                "subgroups_multifactor": "samples a discrete patient table (Stan cannot)"
                }.get(name, "no Stan counterpart")
    o = getattr(model, "options", None)
    if name == "subgroups" and model.pooling != "partial":
        return f"pooling {model.pooling!r}: only partial pooling is written in Stan"
    if name == "crm" and o.working_model != "empiric":
        return "only the empiric working model is written in Stan"
    if name == "survival" and o.family != "weibull":
        return f"family {o.family!r}: only the Weibull is written in Stan"
    return ""
