"""The default analyses' models written again, independently, in Stan (issue 11, item 2).

Each entry is a Stan program and a function that builds its data from a bayesblina model
(the model's own data arrays and prior hyperparameters, so both fit exactly the same data
under exactly the same prior), plus the parameters whose posterior means are compared.
Every model a default run fits is here: each pooling of the one-factor subgroup model,
EXNEX (the exchangeability indicator summed out, as bayesblina does), every survival family
(one program), the BLRM, the empiric CRM, the Dirichlet-multinomial. The several-factors
model samples a discrete patient table, which Stan cannot: its entry is the continuous part
with one sampled table held fixed, a stand-in for timing (``bench_stan_run.py``), not the
same posterior, so nothing of it is compared. Prior families other than those the programs
write (:data:`PRIOR_FAMILIES`) and the CRM's logistic working model are not covered.
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

COMPLETE_POOLING = """
data {
  int<lower=1> K;
  array[K] int<lower=0> x;
  array[K] int<lower=0> n;
  real<lower=0> a;
  real<lower=0> b;
}
parameters { real<lower=0, upper=1> p_all; }
model {
  p_all ~ beta(a, b);
  x ~ binomial(n, p_all);
}
"""

EXNEX = """
data {
  int<lower=1> K;
  array[K] int<lower=0> x;
  array[K] int<lower=0> n;
  real<lower=0, upper=1> w;   // prior probability that a level is exchangeable
  real mu_loc;
  real<lower=0> mu_scale;
  real<lower=0> tau_scale;
  real nex_mu;
  real<lower=0> nex_sigma;
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[K] z;
  vector[K] u;
}
transformed parameters {
  vector[K] theta_ex = mu + tau * z;
  vector[K] theta_nex = nex_mu + nex_sigma * u;
}
model {
  mu ~ normal(mu_loc, mu_scale);
  tau ~ normal(0, tau_scale);
  z ~ std_normal();
  u ~ std_normal();
  for (k in 1:K) {
    target += log_mix(w, binomial_logit_lpmf(x[k] | n[k], theta_ex[k]),
                      binomial_logit_lpmf(x[k] | n[k], theta_nex[k]));
  }
}
generated quantities {
  vector[K] p_ex;
  for (k in 1:K) {
    real a = log(w) + binomial_logit_lpmf(x[k] | n[k], theta_ex[k]);
    real b = log1m(w) + binomial_logit_lpmf(x[k] | n[k], theta_nex[k]);
    p_ex[k] = exp(a - log_sum_exp(a, b));
  }
}
"""

# every survival family of bayesblina in one program (one compile): 1 Weibull, 2 exponential
# (the Weibull with shape 1), 3 log-normal (shape = 1 / sigma), 4 log-logistic, 5 Weibull
# with a cure fraction
SURVIVAL = """
data {
  int<lower=1> N;
  vector<lower=0>[N] t;
  array[N] int<lower=0, upper=1> event;
  vector[N] group;
  int<lower=1, upper=5> family;
  int<lower=0, upper=1> covariate;
  int<lower=0, upper=1> ph;                 // effect on the log hazard (PH) or log time (AFT)
  int<lower=0, upper=1> scale_is_log_lambda;  // else the prior is on log(hazard scale)
  real scale_loc;
  real<lower=0> scale_scale;
  real<lower=0> shape_scale;
  real cure_loc;
  real<lower=0> cure_scale;
  real effect_loc;
  real<lower=0> effect_scale;
}
transformed data {
  int has_shape = family != 2;
  int has_cure = family == 5;
  vector[N] log_t = log(t);
}
parameters {
  real log_scale;
  array[has_shape] real<lower=0> shape;
  array[has_cure] real cure_logit;
  array[covariate] real effect;
}
model {
  real rho = has_shape ? shape[1] : 1.0;
  real spread = family == 3 ? 1 / rho : rho;   // the log-normal's sigma; else the shape
  vector[N] loc = rep_vector(scale_is_log_lambda ? log_scale : -log_scale / spread, N);
  if (covariate) {
    loc += (ph ? -effect[1] / spread : effect[1]) * group;
  }
  log_scale ~ normal(scale_loc, scale_scale);
  if (has_shape) shape ~ normal(0, shape_scale);
  if (has_cure) cure_logit ~ normal(cure_loc, cure_scale);
  if (covariate) effect ~ normal(effect_loc, effect_scale);
  for (i in 1:N) {
    real log_s;
    real log_f;
    if (family == 3) {
      real z = (log_t[i] - loc[i]) / spread;
      log_s = std_normal_lccdf(z);
      log_f = std_normal_lpdf(z) - log(spread) - log_t[i];
    } else if (family == 4) {
      real z = rho * (log_t[i] - loc[i]);
      log_s = -log1p_exp(z);
      log_f = log(rho) - log_t[i] + z - 2 * log1p_exp(z);
    } else {
      real z = rho * (log_t[i] - loc[i]);
      log_s = -exp(z);
      log_f = log(rho) - log_t[i] + z + log_s;
      if (has_cure) {
        real pi = inv_logit(cure_logit[1]);
        log_s = log_mix(pi, 0, log_s);
        log_f += log1m(pi);
      }
    }
    target += event[i] ? log_f : log_s;
  }
}
"""

# the several-factors model's continuous part with its patient table held fixed (Stan
# samples no discrete unknowns): logit p_i = mu + sum_f tau_f z_f[level of i]; z_f padded to
# the largest number of levels (the padding is a free N(0, 1) that no patient touches)
MULTIFACTOR_FIXED_TABLE = """
data {
  int<lower=1> N;
  int<lower=1> F;
  int<lower=1> L;
  array[N, F] int<lower=1, upper=L> level;
  array[N] int<lower=0, upper=1> cr;
  real mu_loc;
  real<lower=0> mu_scale;
  vector<lower=0>[F] tau_scale;
}
parameters {
  real mu;
  vector<lower=0>[F] tau;
  matrix[F, L] z;
}
model {
  vector[N] eta = rep_vector(mu, N);
  for (i in 1:N) {
    for (f in 1:F) eta[i] += tau[f] * z[f, level[i, f]];
  }
  mu ~ normal(mu_loc, mu_scale);
  tau ~ normal(0, tau_scale);
  to_vector(z) ~ std_normal();
  cr ~ bernoulli_logit(eta);
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


#: bayesblina survival family -> the SURVIVAL program's ``family`` code
SURVIVAL_FAMILIES = {"weibull": 1, "exponential": 2, "lognormal": 3, "loglogistic": 4,
                     "cure_weibull": 5}


def _survival(m: Any) -> dict[str, Any]:
    v, h, o = m.data_values(), m.prior_values(), m.options
    return {"N": len(v["t"]), "t": v["t"].tolist(), "event": v["event"].tolist(),
            "group": v["group"].astype(float).tolist(),
            "family": SURVIVAL_FAMILIES[o.family], "covariate": int(o.covariate),
            "ph": int(o.form == "ph"), "scale_is_log_lambda": int(o.scale_prior == "log_lambda"),
            "scale_loc": float(h["log_scale__mu"]), "scale_scale": float(h["log_scale__sigma"]),
            "shape_scale": float(h.get("shape__sigma", 1.0)),
            "cure_loc": float(h.get("cure_logit__mu", 0.0)),
            "cure_scale": float(h.get("cure_logit__sigma", 1.0)),
            "effect_loc": float(h.get("effect__mu", 0.0)),
            "effect_scale": float(h.get("effect__sigma", 1.0))}


def _exnex(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    return {"K": len(v["x"]), "x": v["x"].tolist(), "n": v["n"].tolist(),
            "w": float(v["w"]), "mu_loc": float(h["mu__mu"]), "mu_scale": float(h["mu__sigma"]),
            "tau_scale": float(h["tau__sigma"]), "nex_mu": float(h["nex__mu"]),
            "nex_sigma": float(h["nex__sigma"])}


def _multifactor(m: Any) -> dict[str, Any]:
    """Needs ``m.table``: each latent factor's level per patient (one sampled table)."""
    v, h = m.data_values(), m.prior_values()
    levels = {"marrow_blasts": v["blasts_index"], "phase": v["phase_index"],
              **{f: np.asarray(t) for f, t in m.table.items()}}
    columns = [np.asarray(levels[f], dtype=int) + 1 for f in m.terms]
    n_levels = max(len(m.levels[f]) for f in m.terms)
    tau = np.broadcast_to(np.asarray(h["tau__sigma"], dtype=float), (len(m.terms),))
    return {"N": len(v["cr"]), "F": len(m.terms), "L": n_levels,
            "level": np.column_stack(columns).tolist(), "cr": v["cr"].astype(int).tolist(),
            "mu_loc": float(h["mu__mu"]), "mu_scale": float(h["mu__sigma"]),
            "tau_scale": tau.tolist()}


def _dirichlet(m: Any) -> dict[str, Any]:
    v, h = m.data_values(), m.prior_values()
    counts = v["counts"] if "counts" in v else v["x"]
    return {"K": len(counts), "counts": np.asarray(counts, dtype=int).tolist(),
            "a": h["theta__a"].tolist()}


_SURVIVAL_PARAMS = {"log_scale": "log_scale", "shape": "shape", "cure_logit": "cure_logit",
                    "effect": "effect"}
#: bayesblina model (and pooling) -> its Stan counterpart
STAN_MODELS: dict[str, StanModel] = {
    "beta_binomial": StanModel("beta_binomial", BETA_BINOMIAL, _beta_binomial, {"p": "p"}),
    "subgroups": StanModel("partial_pooling", PARTIAL_POOLING, _partial,
                           {"mu": "mu", "tau": "tau", "p": "p"}),
    "subgroups:none": StanModel("beta_binomial", BETA_BINOMIAL, _beta_binomial, {"p": "p"}),
    "subgroups:complete": StanModel("complete_pooling", COMPLETE_POOLING, _beta_binomial,
                                    {"p_all": "p_all"}),
    "exnex": StanModel("exnex", EXNEX, _exnex,
                       {"mu": "mu", "tau": "tau", "theta_ex": "theta_ex", "p_ex": "p_ex"}),
    "blrm": StanModel("blrm", BLRM, _blrm, {"theta": "theta", "p_cohort": "p_cohort"}),
    "crm": StanModel("crm_empiric", CRM_EMPIRIC, _crm, {"beta": "beta", "p_level": "p_level"}),
    "survival": StanModel("survival", SURVIVAL, _survival, _SURVIVAL_PARAMS),
    "response_categories": StanModel("dirichlet_multinomial", DIRICHLET_MULTINOMIAL,
                                     _dirichlet, {"theta": "theta"}),
    # timing only: with the table fixed it is not the same posterior (nothing compared)
    "subgroups_multifactor": StanModel("multifactor_fixed_table", MULTIFACTOR_FIXED_TABLE,
                                       _multifactor, {}),
}

#: the prior families each Stan program writes, per parameter (anything else: not covered)
PRIOR_FAMILIES = {"p": ("beta",), "mu": ("normal",), "tau": ("half_normal",),
                  "nex": ("normal",), "theta": ("bivariate_normal", "dirichlet"),
                  "beta": ("normal",), "log_scale": ("normal",), "shape": ("half_normal",),
                  "cure_logit": ("normal",), "effect": ("normal",)}


def stan_model(model: Any) -> StanModel:
    """The Stan counterpart of a bayesblina model (check :func:`supported` first)."""
    if model.name == "subgroups" and model.pooling != "partial":
        return STAN_MODELS[f"subgroups:{model.pooling}"]
    return STAN_MODELS[model.name]


def supported(model: Any, *, fixed_table: bool = False) -> str:
    """Why a bayesblina model has no Stan counterpart here ('' when it has one).

    ``fixed_table``: accept the several-factors model, whose counterpart holds its patient
    table fixed (a timing stand-in, not the same posterior).
    """
    name = model.name
    if name == "subgroups_multifactor" and not fixed_table:
        return "samples a discrete patient table (Stan cannot)"
    if name not in STAN_MODELS:
        return "no Stan counterpart"
    o = getattr(model, "options", None)
    if name == "crm" and o.working_model != "empiric":
        return "only the empiric working model is written in Stan"
    for param, prior in model.prior.parameter_priors().items():
        if prior.family in PRIOR_FAMILIES.get(param, ()):
            continue
        return f"prior family {prior.family!r} of {param!r} is not written in Stan"
    return ""
