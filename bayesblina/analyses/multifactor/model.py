r"""CR by several baseline factors at once, from the published margins only.

An additive hierarchical logistic model for CR within two cycles of the 70 patients at
5/15 µg/m²/day,

.. math::

    \operatorname{logit} p_i = \mu + \sum_{F} \beta_F[f_i], \qquad
    \beta_F = \tau_F z_F, \quad z_F \sim N(0, I), \quad \tau_F \sim \text{prior on tau},

one term per factor ``F`` (age group, marrow blasts, refractory disease, optionally
previous HSCT, previous relapses, region and study part), non-centred. The paper prints no
cross-table of two factors, so each patient's level of a *latent* factor is unknown: the
table of patients is missing data, constrained by every published margin
(:mod:`bayesblina.reconstruct.margins`: each factor by study part and by CR, the CR split by
blasts within each study part, and the < 2 year olds by blasts and CR). Every patient's
study part, blast group and CR are known, so the unknowns are the latent levels per
patient. Another trial's margins may be given inline (``[data] rows``, the same tidy
margins table): its study parts, blast groups, latent factors and their levels are read
from the rows (:class:`~bayesblina.reconstruct.margins.Margins`), and only the contrasts
``options.contrasts`` names are reported. The prior of the latent levels is a
Dirichlet-multinomial: within each study part the covariate table (blasts x latent
factors) has cell probabilities ``pi ~ Dirichlet(a, ..., a)``
(``options.covariate_concentration = a``; ``pi`` is integrated out). The posterior is
sampled by data augmentation inside one ``pm.sample`` call: NUTS for the continuous
parameters given the table, and :class:`~bayesblina.analyses.multifactor.table_step.MarginTableStep`
(Metropolis moves that keep every margin) for the table given the parameters.

Reported: each factor's adjusted log odds ratios (:math:`\beta_F[a] - \beta_F[b]`, the
other factors held fixed), standardised (marginal) CR rates per subgroup (every patient
set to level ``l`` of ``F``, averaged over the patients' imputed other factors) and
their differences, the between-level SDs ``tau``, and, beside each raw (Fig 2) contrast,
how much of it survives adjustment. Validated by simulation-based calibration and
fixed-truth studies (:mod:`bayesblina.analyses.multifactor.validation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bayesblina.analyses.multifactor.table_step import MarginTableStep
from bayesblina.analyses.multifactor.terms import contrast_name, term_label
from bayesblina.analyses.subgroups.model import SubgroupModel
from bayesblina.core.frequentist import exact_ci_table
from bayesblina.core.model import PRIOR_SET_TEXT, BayesModel, PriorSetBase
from bayesblina.core.priors import Prior
from bayesblina.core.spec import FromArray, GateThresholds, SamplerSettings
from bayesblina.core.summaries import interval_summary, summarise_draws
from bayesblina.data import load_subgroups
from bayesblina.data.tables import Col, Table, check_unique, frame_from_rows
from bayesblina.errors import DataError, SpecError
from bayesblina.reconstruct.margins import (
    COLUMNS,
    LATENT_FACTORS,
    Margins,
    published_margins,
)

if TYPE_CHECKING:
    import arviz as az

    from bayesblina.core.spec import (
        AnalysisSpec,
        GateThresholds,
        SamplerSettings,
        SummarySettings,
    )

KNOWN_FACTORS = ("marrow_blasts", "phase")
#: the source of margins given inline in a spec (``[data] rows``)
INLINE_SOURCE = "spec"
#: this trial's adjusted contrasts reported per factor: (level a, level b) for
#: beta[a] - beta[b] (inline margins report only ``options.contrasts``)
CONTRASTS: dict[str, list[tuple[str, str]]] = {
    "age": [("<2", "7-17"), ("2-6", "7-17")],
    "marrow_blasts": [("<50%", ">=50%")],
    "refractory": [("no", "yes")],
    "previous_hsct": [("yes", "no")],
    "previous_relapses": [("2", "1")],
    "region": [("Europe", "United States")],
    "phase": [("pk_expansion", "phase_2")],
}
#: the variables the gate checks (the table itself is discrete: no R-hat/ESS)
GATE_VARS = ["mu", "tau", "log_odds_ratio", "standardised_rate"]


def resolve_contrasts(
    contrasts: list[tuple[str, str, str]] | None,
    levels: dict[str, tuple[str, ...]],
    defaults: dict[str, list[tuple[str, str]]] = CONTRASTS,
) -> list[tuple[str, str, str]]:
    """The adjusted contrasts ``(factor, level a, level b)`` reported for these terms.

    Parameters
    ----------
    contrasts : list of (str, str, str) or None
        ``options.contrasts``; ``None`` for the ``defaults`` of every term.
    levels : dict of str to tuple of str
        The factors of the linear predictor (in order) and their levels.
    defaults : dict of str to list of (str, str)
        The contrasts reported when ``options.contrasts`` names none: this trial's
        (:data:`CONTRASTS`), or none (``{}``) for inline margins.

    Raises
    ------
    SpecError
        If a factor is not a term, a level not one of its factor's, or a level is
        contrasted with itself.
    """
    terms = list(levels)
    if contrasts is None:
        return [(f, a, b) for f in terms for a, b in defaults.get(f, [])]
    for f, a, b in contrasts:
        if f not in terms:
            raise SpecError(
                f"key 'options.contrasts': factor {f!r} is not in the model; allowed: {terms}"
            )
        for level in (a, b):
            if level not in levels[f]:
                raise SpecError(
                    f"key 'options.contrasts': unknown level {level!r} of {f!r}; "
                    f"allowed: {list(levels[f])}"
                )
        if a == b:
            raise SpecError(f"key 'options.contrasts': level {a!r} contrasted with itself")
    return [(str(f), str(a), str(b)) for f, a, b in contrasts]


#: the keys of one inline margin row (the margins table's columns, ``source`` aside)
ROW_COLUMNS = (
    Col("margin", "label"),
    Col("factor", "slug", False),
    Col("level", "label", False),
    Col("phase", "label", False),
    Col("marrow_blasts", "label", False),
    Col("cr", "binary", False),
    Col("count", "count"),
)


def _row_checks(table: Table) -> None:
    """Each count once per margin; the factor and level of every latent-factor row."""
    check_unique(table, ["margin", "level", "phase", "marrow_blasts", "cr"])
    for pos, (margin, factor, level) in enumerate(
        table.df[["margin", "factor", "level"]].itertuples(index=False, name=None)
    ):
        if margin == Margins.KNOWN_MARGIN:
            continue
        for col, value in (("factor", factor), ("level", level)):
            if pd.isna(value):
                raise table.fail(pos, col, None, f"a row of margin {margin!r} needs its {col}")


def inline_margins(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spec's inline margins as the tidy margins table (:data:`COLUMNS`), checked.

    Each row is one count: ``margin`` (its kind, see
    :func:`bayesblina.reconstruct.margins.margin_by`), ``factor``, ``level``, the known
    attributes it is split by (``phase``, ``marrow_blasts``, ``cr`` as 0/1; the others
    left out) and ``count``. Rows of the known margin ``"phase x marrow_blasts x cr"``
    may leave out ``factor`` and ``level`` (``"marrow_blasts"`` and the blast group).
    The source of every row is ``spec``; whether the margins add up is checked by
    :class:`~bayesblina.reconstruct.margins.Margins`.

    Raises
    ------
    DataError
        Naming the row (``rows.3``), the column, the value and what is allowed.
    """
    frame = frame_from_rows(rows, ROW_COLUMNS, what="rows", checks=[_row_checks])
    out = pd.DataFrame({
        c: [("" if pd.isna(v) else str(v)) for v in frame[c]]
        for c in ("margin", "factor", "level", "phase", "marrow_blasts")
    })
    known = out["margin"] == Margins.KNOWN_MARGIN
    out.loc[known & (out["factor"] == ""), "factor"] = "marrow_blasts"
    no_level = known & (out["level"] == "")
    out.loc[no_level, "level"] = out.loc[no_level, "marrow_blasts"]
    out["cr"] = ["" if pd.isna(v) else str(int(v)) for v in frame["cr"]]
    out["count"] = frame["count"].astype("int64")
    out["source"] = INLINE_SOURCE
    return out[COLUMNS]


def is_inline(data: pd.DataFrame) -> bool:
    """Whether margins were given inline in a spec (source ``spec``), not this trial's."""
    return bool(len(data)) and bool((data["source"] == INLINE_SOURCE).all())


class MultifactorData(BaseModel):
    """``[data]``: this trial's latent factors (packaged margins), or one's own margins inline.

    Packaged: ``factors`` lists the factors whose per-patient levels are unknown (the
    paper prints only their margins); ``age_lt2_by_blasts`` keeps Table 2's split of the
    < 2 year olds by blasts and CR as a constraint. Inline: ``rows``, the margins table of
    one's own trial (:func:`inline_margins`): its study parts, blast groups, latent
    factors and their levels are taken from the rows, in the order they first appear.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    factors: Annotated[list[str], Field(min_length=1)] = ["age", "refractory"]
    age_lt2_by_blasts: bool = True
    #: one count per row: ``{ margin = "cr x age", factor = "age", level = "<2", cr = 1,
    #: count = 6 }`` (:func:`inline_margins`)
    rows: Annotated[list[dict[str, Any]], Field(min_length=2)] | None = None

    @field_validator("factors")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for f in value:
            if f in KNOWN_FACTORS:
                raise ValueError(
                    f"factor {f!r} is known per patient: list it in 'options.known_factors'; "
                    f"latent factors allowed here: {list(LATENT_FACTORS)}"
                )
            if f not in LATENT_FACTORS:
                raise ValueError(f"unknown factor {f!r}; allowed: {list(LATENT_FACTORS)}")
        if len(set(value)) != len(value):
            raise ValueError(f"factor listed twice in {value}")
        return value

    @field_validator("rows")
    @classmethod
    def _typed_rows(cls, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rows is not None:
            inline_margins(rows)  # a DataError is a ValueError: 'data.rows' names it
        return rows

    @model_validator(mode="after")
    def _one_source(self) -> MultifactorData:
        packaged = {"factors", "age_lt2_by_blasts"} & self.model_fields_set
        if self.rows is not None and packaged:
            raise ValueError(
                f"give inline 'rows' (your trial's margins) or the packaged {sorted(packaged)}, "
                "not both"
            )
        return self


class MultifactorOptions(BaseModel):
    """``[options]``: known factors in the model, covariate prior, table moves.

    ``known_factors`` are the terms known per patient (``marrow_blasts``; ``phase`` adds a
    study-part effect). ``covariate_concentration`` is the Dirichlet concentration of each
    cell of the covariate table within a study part (1: every table of counts equally
    likely a priori). ``proposals`` scales the number of table moves per iteration.
    ``contrasts`` overrides the adjusted contrasts reported, as ``[factor, a, b]``.
    ``factor_alone_sampler`` (a ``[sampler]``-like table) sets how the factor-alone models
    of the raw-vs-adjusted comparison are sampled; without it they use the spec's sampler.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    known_factors: list[Literal["marrow_blasts", "phase"]] = ["marrow_blasts"]
    covariate_concentration: Annotated[float, Field(gt=0)] = 1.0
    proposals: Annotated[int, Field(ge=1, le=50)] = 2
    contrasts: list[Annotated[tuple[str, str, str], FromArray]] | None = None
    #: sampler of the factor-alone comparison fits (default: the spec's own ``[sampler]``)
    factor_alone_sampler: SamplerSettings | None = None

    @model_validator(mode="after")
    def _unique(self) -> MultifactorOptions:
        if len(set(self.known_factors)) != len(self.known_factors):
            raise ValueError(f"known factor listed twice in {self.known_factors}")
        return self


def term_levels(options: Any, margins: Margins) -> dict[str, tuple[str, ...]]:
    """Each term of the linear predictor (known factors, then latent) with its levels.

    The levels come from the margins: the study parts for ``phase``, the blast groups for
    ``marrow_blasts``, each latent factor's levels in the order they first appear.
    """
    return {f: margins.levels[f] for f in [*options.known_factors, *margins.latent_factors]}


class MultifactorPriors(PriorSetBase):
    """``mu`` (logit CR rate at the reference) and ``tau`` (SD of each factor's effects)."""

    mu: Prior
    tau: Prior
    allowed_families: ClassVar[dict[str, tuple[str, ...]]] = {
        "mu": ("normal", "student_t"),
        "tau": ("half_normal", "half_cauchy", "exponential", "lognormal"),
    }


class MultifactorModel(BayesModel):
    """Additive hierarchical logistic model over several factors, from margins only.

    Parts, factors and levels (``coords``, contrasts, the covariate table's cells) are
    the margins' (:attr:`levels`): this trial's for the packaged data, one's own inline.
    """

    name: ClassVar[str] = "subgroups_multifactor"
    DataSpec: ClassVar[type[BaseModel]] = MultifactorData
    PriorSetSpec: ClassVar[type[PriorSetBase]] = MultifactorPriors
    OptionsSpec: ClassVar[type[BaseModel]] = MultifactorOptions
    #: measured: ~20 ms per iteration of the compound step (NUTS + table moves) against
    #: ~1 ms for a one-factor model (benchmarks/results.md), comparison fits included
    cost_per_iteration: ClassVar[float] = 20.0

    def __init__(self, data: pd.DataFrame, prior: Any, options: Any = None) -> None:
        #: the current data as margins (made on first use, reset by :meth:`set_data`)
        self._margins: Margins | None = None
        #: the single-factor models of :meth:`unadjusted_log_odds_ratios`, by factor
        self._unadjusted_models: dict[str, SubgroupModel] = {}
        #: what the table step reads at every iteration (set when the graph is built)
        self._step_outputs: list[Any] = []
        super().__init__(data, prior, options)
        self._contrasts = self._resolve_contrasts()

    def _unbuilt_state(self) -> dict[str, Any]:
        return {**super()._unbuilt_state(), "_step_outputs": []}

    # -- data -------------------------------------------------------------------------
    @classmethod
    def load_data(cls, data_spec: Any) -> pd.DataFrame:
        """The margins: inline ``rows``, or this trial's published margins of ``factors``.

        Returns
        -------
        pandas.DataFrame
            The tidy margins table (:data:`~bayesblina.reconstruct.margins.COLUMNS`, see
            :class:`~bayesblina.reconstruct.margins.Margins`).

        Raises
        ------
        DataError
            If a packaged file or an inline row is malformed.
        """
        if data_spec.rows is not None:
            return inline_margins(data_spec.rows)
        return published_margins(
            data_spec.factors, age_lt2_by_blasts=data_spec.age_lt2_by_blasts
        ).rows

    @classmethod
    def validate_data(cls, data: pd.DataFrame) -> pd.DataFrame:
        """The margins must be complete, add up, and admit at least one patient table.

        Every latent factor needs its CR margin (``cr x <factor>``, every level): the raw
        rates the adjusted ones are set beside.

        Raises
        ------
        DataError
            Naming the margin and what is wrong (see
            :class:`~bayesblina.reconstruct.margins.Margins`).
        """
        margins = Margins(data)
        for f in margins.latent_factors:
            c = next((c for c in margins.constraints if c.margin == f"cr x {f}"), None)
            if c is None or c.levels != margins.levels[f]:
                have = list(c.levels) if c is not None else []
                raise DataError(
                    f"margins: margin 'cr x {f}' is missing or incomplete (levels {have}, "
                    f"needed: {list(margins.levels[f])}): each latent factor needs its CR "
                    "margin, every level with its CRs (cr = 1) and the rest (cr = 0)"
                )
        margins.feasible_assignment(np.random.default_rng(0))
        return margins.rows

    def set_data(self, data: pd.DataFrame) -> MultifactorModel:
        """Replace the margins (same factors: the compiled sampler is reused)."""
        super().set_data(data)
        self._margins = None
        if self._model is not None and self.structure_key() != self._built_key:
            self._model = None
        return self

    @property
    def margins(self) -> Margins:
        """The current data as :class:`Margins`."""
        if self._margins is None:
            self._margins = Margins(self.data)
        return self._margins

    @property
    def latent(self) -> tuple[str, ...]:
        """The latent factors, in the margins' order (the order they first appear)."""
        return self.margins.latent_factors

    @property
    def terms(self) -> list[str]:
        """Every factor of the linear predictor: known ones first, then the latent ones."""
        return [*self.options.known_factors, *self.latent]

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        """Each term's levels, from the margins (the study parts for ``phase``)."""
        return term_levels(self.options, self.margins)

    def _resolve_contrasts(self) -> list[tuple[str, str, str]]:
        return resolve_contrasts(self.options.contrasts, self.levels,
                                 {} if is_inline(self.data) else CONTRASTS)

    @classmethod
    def check_options(cls, options: BaseModel, data: pd.DataFrame) -> None:
        """The contrasts asked for must be of the model's factors and levels.

        The model's terms follow from the options (known factors) and the data (latent
        factors), so a spec check (which builds no model) finds a contrast of a factor or
        level the model does not have.

        Raises
        ------
        SpecError
            Naming ``options.contrasts`` and the factor or level (with the allowed ones).
        """
        levels = term_levels(options, Margins(data))
        for f in options.known_factors:  # type: ignore[attr-defined]
            if len(levels[f]) < 2:
                raise SpecError(
                    f"key 'options.known_factors': {f!r} has one level {list(levels[f])} in "
                    "the margins; a factor needs at least two"
                )
        resolve_contrasts(options.contrasts, levels,  # type: ignore[attr-defined]
                          {} if is_inline(data) else CONTRASTS)

    def contrasts(self) -> list[tuple[str, str, str]]:
        """The adjusted contrasts reported: ``(factor, level a, level b)``."""
        return list(self._contrasts)

    def constraints_of(self, factor: str) -> list[Any]:
        """The margin constraints of a latent factor, in a fixed (name) order."""
        return sorted(
            (c for c in self.margins.constraints if c.factor == factor), key=lambda c: c.margin
        )

    # -- the graph --------------------------------------------------------------------
    def structure_key(self) -> tuple[Any, ...]:
        """Prior families, terms and the shape of every margin constraint."""
        shapes = tuple(
            (c.margin, c.target.shape) for f in self.latent for c in self.constraints_of(f)
        )
        return (*super().structure_key(), tuple(self.levels.items()), shapes,
                self.margins.n_patients)

    def coords(self) -> dict[str, list[Any]]:
        """Patients, factors, levels of each factor, subgroups and contrasts."""
        levels = self.levels
        out: dict[str, list[Any]] = {
            "patient": list(range(self.margins.n_patients)),
            "factor": self.terms,
            "subgroup": [term_label(f, lv) for f in self.terms for lv in levels[f]],
        }
        if self.contrasts():
            out["contrast"] = [contrast_name(*c) for c in self.contrasts()]
        for f in self.terms:
            out[f"{f}_level"] = list(levels[f])
        return out

    def data_values(self) -> dict[str, np.ndarray]:
        """Known attributes per patient and, per latent factor, constraint keys and targets."""
        m = self.margins
        levels = m.levels
        out: dict[str, np.ndarray] = {
            "phase_index": m.known_index("phase"),
            "blasts_index": m.known_index("marrow_blasts"),
            "cr": m.known_index("cr"),
        }
        for f in self.latent:
            for c_i, c in enumerate(self.constraints_of(f)):
                out[f"{f}__key{c_i}"] = m.group_index(c)
                mask = np.array([lv in c.levels for lv in levels[f]], dtype="int64")
                out[f"{f}__mask{c_i}"] = mask
                # full width (every level), zero where a level is not constrained
                target = np.zeros((len(c.groups), len(levels[f])), dtype="int64")
                target[:, [levels[f].index(lv) for lv in c.levels]] = c.target
                out[f"{f}__target{c_i}"] = target
        return out

    def _define(self) -> None:
        levels = self.levels
        values = self.data_values()
        data = {k: pm.Data(k, v) for k, v in values.items()}
        alpha = pm.Data("covariate_concentration", float(self.options.covariate_concentration))
        mu = self.prior_rv("mu")
        tau = self.prior_rv("tau", dims="factor")
        index: dict[str, Any] = {
            "phase": data["phase_index"], "marrow_blasts": data["blasts_index"],
        }
        rng = np.random.default_rng(0)
        start = self.margins.feasible_assignment(rng)
        for f in self.latent:
            k = len(levels[f])
            index[f] = pm.Categorical(
                f"latent_{f}", p=np.full(k, 1.0 / k), dims="patient", initval=start[f]
            )
        beta = {}
        for t_i, f in enumerate(self.terms):
            z = pm.Normal(f"z_{f}", 0.0, 1.0, dims=f"{f}_level")
            beta[f] = pm.Deterministic(f"beta_{f}", tau[t_i] * z, dims=f"{f}_level")
        base = mu + sum(beta[f][index[f]] for f in self.options.known_factors)
        eta = base + sum(beta[f][index[f]] for f in self.latent)
        pm.Bernoulli("cr_obs", logit_p=eta, observed=data["cr"], dims="patient")

        # the covariate table's Dirichlet-multinomial prior (pi integrated out), per part
        cell = data["blasts_index"]
        stride = len(self.margins.levels["marrow_blasts"])
        for f in self.latent:
            cell = cell + index[f] * stride
            stride *= len(levels[f])
        n_phase = len(self.margins.phases)
        onehot = pt.eq(
            (data["phase_index"] * stride + cell)[:, None], pt.arange(n_phase * stride)[None, :]
        )
        counts = onehot.sum(axis=0).reshape((n_phase, stride))
        sizes = counts.sum(axis=1)
        dm = (
            pt.sum(pt.gammaln(alpha + counts))
            - stride * n_phase * pt.gammaln(alpha)
            + n_phase * pt.gammaln(stride * alpha)
            - pt.sum(pt.gammaln(stride * alpha + sizes))
        )
        pm.Potential("covariate_prior", dm)
        # the published margins: any table that misses one has probability zero
        ok = []
        for f in self.latent:
            k = len(levels[f])
            for c_i, c in enumerate(self.constraints_of(f)):
                key, mask = data[f"{f}__key{c_i}"], data[f"{f}__mask{c_i}"]
                target = data[f"{f}__target{c_i}"]
                level_onehot = pt.eq(index[f][:, None], pt.arange(k)[None, :])
                group_onehot = pt.eq(key[:, None], pt.arange(c.target.shape[0])[None, :])
                full = pt.dot(group_onehot.T.astype("int64"), level_onehot.astype("int64"))
                ok.append(pt.all(pt.eq(full * mask[None, :], target)))
        pm.Potential("margins", pt.switch(pt.all(pt.stack(ok)), 0.0, -np.inf))

        # adjusted contrasts (when any is reported) and standardised (marginal) rates
        if self.contrasts():
            pm.Deterministic(
                "log_odds_ratio",
                pt.stack([beta[f][levels[f].index(a)] - beta[f][levels[f].index(b)]
                          for f, a, b in self.contrasts()]),
                dims="contrast",
            )
        rates = []
        for f in self.terms:
            without = eta - beta[f][index[f]]
            for j in range(len(levels[f])):
                rates.append(pm.math.sigmoid(without + beta[f][j]).mean())
        rate = pm.Deterministic("standardised_rate", pt.stack(rates), dims="subgroup")
        labels = self.coords()["subgroup"]
        if self.contrasts():
            pm.Deterministic(
                "standardised_difference",
                pt.stack([rate[labels.index(term_label(f, a))]
                          - rate[labels.index(term_label(f, b))]
                          for f, a, b in self.contrasts()]),
                dims="contrast",
            )
        # what the table step reads at every iteration (current parameter and data values)
        self._step_outputs = [
            base,
            *[beta[f] for f in self.latent],
            alpha,
            data["phase_index"],
            data["cr"],
            data["blasts_index"],
            *[pt.stack([data[f"{f}__key{c_i}"] for c_i in range(len(self.constraints_of(f)))],
                       axis=1) for f in self.latent],
            *[pt.stack([data[f"{f}__mask{c_i}"] for c_i in range(len(self.constraints_of(f)))])
              for f in self.latent],
        ]

    # -- sampling ---------------------------------------------------------------------
    def pymc_step(self, target_accept: float) -> list[Any]:
        """NUTS for the continuous parameters, margin-keeping moves for the table."""
        model = self.build()
        with model:
            latent = [model[f"latent_{f}"] for f in self.latent]
            continuous = [v for v in model.value_vars
                          if v.name not in {f"latent_{f}" for f in self.latent}]
            nuts = pm.NUTS(vars=continuous, target_accept=target_accept,
                           compile_kwargs={"mode": "NUMBA"})
            outs = model.replace_rvs_by_values(self._step_outputs)
            info = model.compile_fn(outs, inputs=continuous, point_fn=True,
                                    on_unused_input="ignore")
            table = MarginTableStep(
                latent,
                factors=list(self.latent),
                info_fn=info,
                n_levels=[len(self.levels[f]) for f in self.latent],
                proposals=self.options.proposals,
            )
        return [nuts, table]

    def initvals(self, chains: int, seed: int) -> list[dict[str, np.ndarray]]:
        """A different table meeting every margin for each chain (integer programme)."""
        out = []
        for c in range(chains):
            start = self.margins.feasible_assignment(np.random.default_rng([seed, c]))
            out.append({f"latent_{f}": start[f] for f in self.latent})
        return out

    def gate_vars(self) -> list[str]:
        """Continuous quantities only: the imputed table is discrete (no contrasts: none)."""
        if self.contrasts():
            return list(GATE_VARS)
        return [v for v in GATE_VARS if v != "log_odds_ratio"]

    # -- results ----------------------------------------------------------------------
    def summarise(self, idata: az.InferenceData, settings: SummarySettings) -> pd.DataFrame:
        """Long table of the reported quantities.

        ``quantity`` is one of log_odds_ratio, standardised_rate, standardised_difference,
        tau, mu; ``population`` names the contrast, subgroup or factor (no contrast
        reported: no log_odds_ratio and standardised_difference rows).
        """
        post = idata.posterior
        kw = {"ci_prob": settings.ci_prob, "hdi_prob": settings.hdi_prob}
        contrasts = "log_odds_ratio" in post  # none reported: no contrast variables
        parts = [
            *([summarise_draws(post["log_odds_ratio"], thresholds=[0.0], label="diff", **kw)
               .rename(columns={"contrast": "population"}).assign(quantity="log_odds_ratio")]
              if contrasts else []),
            summarise_draws(post["standardised_rate"], thresholds=settings.thresholds,
                            label="p", **kw)
            .rename(columns={"subgroup": "population"}).assign(quantity="standardised_rate"),
            *([summarise_draws(post["standardised_difference"], thresholds=[0.0],
                               label="diff", **kw)
               .rename(columns={"contrast": "population"})
               .assign(quantity="standardised_difference")] if contrasts else []),
            summarise_draws(post["tau"], **kw).rename(columns={"factor": "population"})
            .assign(quantity="tau"),
            summarise_draws(post["mu"], **kw).assign(quantity="mu", population=""),
        ]
        out = pd.concat(parts, ignore_index=True)
        return out[["quantity", "population", *[c for c in out if c not in ("quantity",
                                                                           "population")]]]

    def raw_margins(self) -> dict[str, tuple[int, int]]:
        """CRs and patients per subgroup, from the margins: ``{"age=<2": (6, 10), ...}``.

        A latent factor's counts come from its ``cr x <factor>`` margin.
        """
        m = self.margins
        out = {}
        pts = m.patients
        for f, levels in self.levels.items():
            for lv in levels:
                if f in KNOWN_FACTORS:
                    at = pts[f] == lv
                    out[term_label(f, lv)] = (int(pts.loc[at, "cr"].sum()), int(at.sum()))
                else:
                    c = next(c for c in m.constraints if c.margin == f"cr x {f}")
                    k = c.levels.index(lv)
                    by_cr = {g[0]: c.target[g_i, k] for g_i, g in enumerate(c.groups)}
                    x, n_ = int(by_cr.get("1", 0)), int(by_cr.get("1", 0) + by_cr.get("0", 0))
                    out[term_label(f, lv)] = (x, n_)
        return out

    def unadjusted_log_odds_ratios(
        self, settings: SamplerSettings, gate: GateThresholds | None = None
    ) -> dict[str, np.ndarray | None]:
        """Posterior draws of each contrast's log OR from its factor alone (no adjustment).

        The single-factor partial-pooling model (:class:`~bayesblina.analyses.subgroups.model.
        SubgroupModel`, ``logit p_l = mu + tau z_l``) on the factor's margins, with this
        model's prior set: the same shrinkage, no other factor. A fit that fails the gate
        gives ``None`` (never numbers).
        """
        gate = gate or GateThresholds()
        raw = self.raw_margins()
        cache = self._unadjusted_models
        out: dict[str, np.ndarray | None] = {}
        for f in dict.fromkeys(f for f, _, _ in self.contrasts()):
            rows = pd.DataFrame([{"subgroup": lv, "x": raw[term_label(f, lv)][0],
                                  "n": raw[term_label(f, lv)][1]} for lv in self.levels[f]])
            pairs = [[a, b] for g, a, b in self.contrasts() if g == f]
            model = cache.get(f)
            if model is None:
                model = cache[f] = SubgroupModel(
                    rows, self.prior.model_dump(exclude=set(PRIOR_SET_TEXT)),
                    {"pooling": "partial", "contrasts": pairs})
            else:
                model.set_data(rows).set_prior(self.prior.model_dump(exclude=set(PRIOR_SET_TEXT)))
            idata = model.fit(settings)
            ok = model.gate(idata, gate).passed
            logit = np.log(idata.posterior["p"]) - np.log1p(-idata.posterior["p"])
            for a, b in pairs:
                d = (logit.sel(subgroup=a) - logit.sel(subgroup=b)).values.ravel()
                out[contrast_name(f, a, b)] = d if ok else None
        return out

    def adjustment_table(
        self,
        idata: az.InferenceData,
        ci_prob: float = 0.95,
        unadjusted: dict[str, np.ndarray | None] | None = None,
    ) -> pd.DataFrame:
        """Each contrast raw (Fig 2 margins) beside adjusted: how much survives adjustment.

        ``crude_log_or`` is the empirical log odds ratio of the two subgroups' margins (0.5
        added to each cell when one is zero). With ``unadjusted`` (draws from
        :meth:`unadjusted_log_odds_ratios`), ``unadjusted_log_or`` is the factor-alone
        posterior mean under the same prior (shrinkage, no adjustment) and
        ``share_surviving`` the adjusted posterior mean divided by it: the part of the
        (shrunk) difference that adjustment for the other factors leaves.
        """
        raw = self.raw_margins()
        post = idata.posterior
        lo, hi = (1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2
        rows = []
        for f, a, b in self.contrasts():
            name = contrast_name(f, a, b)
            (xa, na), (xb, nb) = raw[term_label(f, a)], raw[term_label(f, b)]
            cells = np.array([xa, na - xa, xb, nb - xb], dtype=float)
            if (cells == 0).any():
                cells += 0.5
            crude = float(np.log(cells[0] / cells[1]) - np.log(cells[2] / cells[3]))
            lor = post["log_odds_ratio"].sel(contrast=name).values.ravel()
            sdiff = post["standardised_difference"].sel(contrast=name).values.ravel()
            row = {
                "contrast": name,
                "raw_difference": xa / na - xb / nb,
                "standardised_difference": float(sdiff.mean()),
                "crude_log_or": crude,
                "adjusted_log_or": float(lor.mean()),
                "adjusted_low": float(np.quantile(lor, lo)),
                "adjusted_high": float(np.quantile(lor, hi)),
                "P(adjusted>0)": float((lor > 0).mean()),
            }
            if unadjusted is not None:
                u = unadjusted.get(name)
                row["unadjusted_log_or"] = float(u.mean()) if u is not None else np.nan
                row["share_surviving"] = (
                    float(lor.mean() / u.mean()) if u is not None and abs(u.mean()) > 1e-9
                    else np.nan
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def imputed_tables(self, idata: az.InferenceData) -> pd.DataFrame:
        """Posterior mean imputed counts of every pair of factors (the unknown cross-tables)."""
        post = idata.posterior
        m = self.margins
        vals: dict[str, np.ndarray] = {}
        n_draws = post.sizes["chain"] * post.sizes["draw"]
        for f in self.terms:
            if f in KNOWN_FACTORS:
                vals[f] = np.broadcast_to(m.known_index(f), (n_draws, m.n_patients))
            else:
                vals[f] = post[f"latent_{f}"].values.reshape(n_draws, -1)
        rows = []
        for i, f in enumerate(self.terms):
            for g in self.terms[i + 1:]:
                if f not in self.latent and g not in self.latent:
                    continue
                for a_i, a in enumerate(self.levels[f]):
                    for b_i, b in enumerate(self.levels[g]):
                        n_ab = ((vals[f] == a_i) & (vals[g] == b_i)).sum(axis=1)
                        rows.append({"factor_a": f, "level_a": a, "factor_b": g, "level_b": b,
                                     "mean_count": float(n_ab.mean()),
                                     "low": float(np.quantile(n_ab, 0.025)),
                                     "high": float(np.quantile(n_ab, 0.975))})
        return pd.DataFrame(rows)

    def summary_json(self, idata: az.InferenceData, spec: AnalysisSpec) -> dict[str, Any]:
        """Per prior set: standardised rates and adjusted log odds ratios, keyed by name.

        ``subgroups[prior_set]["multifactor"][subgroup]`` holds the standardised CR rate's
        mean and equal-tailed interval; ``adjusted_log_odds_ratios[prior_set][contrast]``
        likewise, with P(> 0).
        """
        q = float(spec.summary.ci_prob)
        post = idata.posterior
        rates = {
            str(s): interval_summary(post["standardised_rate"].sel(subgroup=s).values, q)
            for s in post["standardised_rate"].coords["subgroup"].values
        }
        lors = {}
        contrasts = post["log_odds_ratio"].coords["contrast"].values if "log_odds_ratio" in post \
            else []
        for c in contrasts:
            d = post["log_odds_ratio"].sel(contrast=c).values.ravel()
            lors[str(c)] = {**interval_summary(d, q), "P(diff>0)": float((d > 0).mean())}
        return {"subgroups": {"multifactor": rates}, "adjusted_log_odds_ratios": lors}

    def reference_table(self) -> pd.DataFrame:
        """Each subgroup's raw margin with its exact 95% CI and the published Fig 2 values.

        ``population`` is the subgroup label of the summaries (e.g. ``"age=<2"``), so the
        report sets each raw rate beside the standardised posterior rates. Inline margins
        (another trial) have no published values: NaN.
        """
        fig2 = load_subgroups().set_index(["factor", "level"])
        inline = is_inline(self.data)
        raw = self.raw_margins()
        table = exact_ci_table([x for x, _ in raw.values()], [n for _, n in raw.values()],
                               population=list(raw))
        for col in ("published_pct", "published_ci_low", "published_ci_high"):
            table[col] = [
                fig2.at[key, col] if key in fig2.index and not inline else np.nan
                for key in (tuple(label.split("=", 1)) for label in raw)
            ]
        return table

