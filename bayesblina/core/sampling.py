"""The sampling core every model uses: one function, several backends, fixed seeds.

``sample(model, settings)`` sets the model's current data and hyperparameters into its
``pm.Data`` containers, runs the chosen backend and returns ``arviz.InferenceData`` with
the model's named coords/dims and provenance attributes.

Compiled sampler objects are cached on the model (``model.compiled``) and reused while the
graph is unchanged, so a refit with new data or new prior values does not recompile:

* ``pymc``: PyMC's NUTS. The ``pm.NUTS`` step (its log-density and gradient, compiled in
  PyTensor's NUMBA mode,
  :meth:`bayesblina.core.model.BayesModel.pymc_step`) is built once and passed to
  ``pm.sample``, which resets its tuning at every call.
* ``nutpie``: ``nutpie.compile_pymc_model`` once per graph in this process, then
  ``compiled.with_data(...)``. Compiling costs seconds and sampling tenths, so a compiled
  model is shared by every model of this process whose graph is the same up to the values
  of its data containers (other prior sets, other specs of the same structure and size,
  reconstructions, comparison fits): the graphs are compared node by node
  (:func:`same_graph`), never assumed alike from a name.
* ``numpyro``: ``pm.sample(nuts_sampler="numpyro")`` (JAX compiles per call).

PyTensor's numba code is compiled without fast-math (:func:`strict_float`), so the first
run on a machine (everything compiled afresh) gives the numbers of every later run (parts
loaded from the compile cache).
"""

from __future__ import annotations

import importlib
import importlib.util
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import nutpie
import pyarrow as pa
import pymc as pm
import pytensor
import xarray as xr
from pymc.backends.arviz import (
    coords_and_dims_for_inferencedata,
    find_constants,
    find_observations,
)
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import equal_computations
from pytensor.graph.traversal import graph_inputs

from bayesblina.errors import SamplerError

if TYPE_CHECKING:
    from bayesblina.core.model import BayesModel
    from bayesblina.core.spec import SamplerSettings

#: optional backends -> (modules they need, pip extra that installs them); nutpie is a
#: core dependency (the survival specs sample with it)
_EXTRAS = {"numpyro": (("numpyro", "jax"), "numpyro")}
_CORE_BACKENDS = ("pymc", "nutpie")


def require_backend(backend: str) -> None:
    """Raise a clear error if an optional backend's packages are not installed.

    Raises
    ------
    SamplerError
        Naming the missing package and the extra that installs it.
    """
    if backend in _CORE_BACKENDS:
        return
    if backend not in _EXTRAS:
        raise SamplerError(
            f"unknown sampler {backend!r}; allowed: {[*_CORE_BACKENDS, *sorted(_EXTRAS)]}"
        )
    modules, extra = _EXTRAS[backend]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise SamplerError(
            f"sampler {backend!r} needs {', '.join(missing)}, which is not installed; "
            f"install the extra: pip install 'bayesblina[{extra}]'"
        )


def strict_float() -> Any:
    """A context in which PyTensor compiles numba code without fast-math.

    With fast-math (PyTensor's default), LLVM may contract and reassociate floating-point
    operations across the functions it inlines; a function compiled afresh (its parts
    inlined) then rounds differently from the same function whose parts come from the
    compile cache. Measured: a machine's first run (cold cache) differed from its later
    runs in the 14th digit, same seed; strict IEEE arithmetic made them identical. Its
    cost in sampling time was within the machine's noise (``benchmarks/history.md``).
    """
    return pytensor.config.change_flags(numba__fastmath=False)


def _shapes(values: dict[str, Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Shape signature of the data: compiled samplers are valid only for these shapes."""
    return tuple(sorted((k, np.shape(v)) for k, v in values.items()))


def _sample_pymc(model: BayesModel, values: dict[str, Any], s: SamplerSettings) -> Any:
    pm_model = model.build()
    # the compiled step fixes parameter shapes: a new shape signature needs a new step
    key = ("pymc", s.target_accept, _shapes(values))
    with pm_model:
        pm.set_data(values, coords=model.coords())
        step = model.compiled.get(key)
        if step is None:
            with strict_float():
                step = model.compiled[key] = model.pymc_step(s.target_accept)
        # PyMC resets a step's adaptation before each chain it samples in this process, not
        # before it sends the step to chain processes (cores > 1): a step adapted by an
        # earlier fit here would start those chains where that fit left off
        for method in step if isinstance(step, list) else [step]:
            if hasattr(method, "reset_tuning"):
                method.reset_tuning()
        return pm.sample(
            initvals=model.initvals(s.chains, s.seed),
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            cores=s.cores,
            step=step,
            random_seed=s.seed,
            progressbar=False,
            compute_convergence_checks=False,
            return_inferencedata=True,
        )


#: nutpie models compiled in this process, by (structure key, data shapes): each entry a
#: PyMC model and its compiled form, reused by any model whose graph equals that model's
_NUTPIE_COMPILED: dict[tuple[Any, ...], list[tuple[pm.Model, Any]]] = {}


def _graph(pm_model: pm.Model) -> tuple[list[Any], list[SharedVariable]]:
    """What nutpie compiles: the log density and deterministics, and their data containers.

    The outputs are graphs of the value variables and of the data containers (shared
    variables, sorted by name).
    """
    outputs = [pm_model.logp(), *pm_model.replace_rvs_by_values(pm_model.deterministics)]
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    return outputs, sorted(shared, key=lambda v: str(v.name))


def same_graph(a: pm.Model, b: pm.Model) -> bool:
    """Whether two PyMC models compute the same thing for every value of their data.

    The log densities and deterministics are compared node by node (constants by value),
    the value variables in order, the data containers by name and each variable's dims by
    name: a compiled sampler of one is then the other's too, given the other's data values
    (and coordinate labels).
    """
    if [v.name for v in a.value_vars] != [v.name for v in b.value_vars]:
        return False
    if a.named_vars_to_dims != b.named_vars_to_dims:
        return False
    (xs, shared_a), (ys, shared_b) = _graph(a), _graph(b)
    if len(xs) != len(ys) or None in {v.name for v in shared_a} or [v.name for v in shared_a] != [
        v.name for v in shared_b
    ]:
        return False
    return equal_computations(
        xs, ys, in_xs=[*a.value_vars, *shared_a], in_ys=[*b.value_vars, *shared_b]
    )


def _nutpie_compiled(model: BayesModel, pm_model: pm.Model, shapes: Any) -> tuple[pm.Model, Any]:
    """The PyMC model and compiled nutpie model that sample ``pm_model``.

    This model's own, else one of the same graph compiled before in this process, else a
    new one.
    """
    own = model.compiled.get("nutpie")
    if own is not None and own[0] == shapes:
        return own[1]
    alike = _NUTPIE_COMPILED.setdefault((model.structure_key(), shapes), [])
    entry = next((e for e in alike if e[0] is pm_model or same_graph(e[0], pm_model)), None)
    if entry is None:
        with strict_float():
            entry = (pm_model, nutpie.compile_pymc_model(pm_model))
        alike.append(entry)
    model.compiled["nutpie"] = (shapes, entry)
    return entry


def _sample_nutpie(model: BayesModel, values: dict[str, Any], s: SamplerSettings) -> Any:
    pm_model = model.build()
    with pm_model:
        pm.set_data(values, coords=model.coords())
    home, cached = _nutpie_compiled(model, pm_model, _shapes(values))
    # nutpie's initial points are computed from the data containers of the model it
    # compiled: a borrowed one gets this model's values while it samples, and its own back
    # after (its owner may still read them: log-likelihoods, predictions)
    borrowed = [] if home is pm_model else [k for k in values if k in home.named_vars]
    own = {k: home[k].get_value() for k in borrowed}
    pm.set_data({k: values[k] for k in borrowed}, model=home)
    # a data container the log density does not use (e.g. a covariate column of a model
    # without the covariate) is unknown to the compiled model
    known = cached.shared_data
    compiled = cached.with_data(**{k: v for k, v in values.items() if k in known})
    try:
        trace = nutpie.sample(
            compiled,
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            cores=s.cores,
            seed=s.seed,
            target_accept=s.target_accept,
            progress_bar=False,
            return_raw_trace=True,
        )
    finally:
        pm.set_data(own, model=home)
    # nutpie labels dims from the model as compiled: label them with the current coords
    idata = nutpie_idata(*trace.get_arrow_trace(), {**cached.coords, **model.coords()})
    # the groups PyMC's own sampler returns, so that every backend's result is alike
    # (log-likelihood and posterior predictive computations need observed_data)
    missing = {k: v for k, v in _data_groups(pm_model).items() if k not in idata.groups()}
    idata.add_groups(missing)
    return idata


#: nutpie's sample statistics that it leaves out of its own InferenceData unless asked to
#: store them (``store_gradient`` and the like): per-draw vectors no diagnostic here reads
_NUTPIE_UNSTORED = frozenset({
    "gradient", "unconstrained_draw", "mass_matrix_inv", "mass_matrix_eigvals",
    "mass_matrix_stds", "divergence_start", "divergence_end", "divergence_momentum",
    "divergence_start_gradient", "chain", "draw",
})


def nutpie_idata(draws: list[Any], stats: list[Any], coords: dict[str, Any]) -> az.InferenceData:
    """The ``posterior`` and ``sample_stats`` of a raw nutpie trace (one batch per chain).

    What ``nutpie.sample`` returns by default, less the warm-up groups (nothing here reads
    them), built straight into xarray: nutpie's own conversion goes through
    ``arviz.from_dict`` and costs about four times as much, a fifth of a small model's refit.

    Parameters
    ----------
    draws, stats : list
        Arrow record batches of the draws and of the sampler statistics, one per chain, as
        ``nutpie.sample(..., return_raw_trace=True).get_arrow_trace()`` gives them.
    coords : dict
        Labels of the named dims (those the trace does not use are left out).

    Returns
    -------
    arviz.InferenceData
    """
    tuning = [pa.array(b.column("tuning")).to_numpy(zero_copy_only=False) for b in stats]
    # every chain has as many draws after warm-up (nutpie stops no chain early)
    kept = [np.flatnonzero(~t) for t in tuning]
    if len({len(k) for k in kept}) != 1:
        raise SamplerError("nutpie returned chains of different lengths")

    def group(batches: list[Any], skip: frozenset[str]) -> xr.Dataset:
        variables = {}
        for name in batches[0].column_names:
            if name in skip:
                continue
            meta = batches[0].column(name).field.metadata or {}
            shape = tuple(int(n) for n in meta.get(b"shape", b"").decode().split(",") if n)
            dims = [d for d in meta.get(b"dims", b"").decode().split(",") if d]
            dims = dims or [f"{name}_dim_{i}" for i in range(len(shape))]
            per_chain = []
            for batch, rows in zip(batches, kept, strict=True):
                column = pa.array(batch.column(name))
                if column.null_count:
                    raise SamplerError(f"nutpie returned missing values of {name!r}")
                if hasattr(column, "flatten"):
                    column = column.flatten()
                values = column.to_numpy(zero_copy_only=False)
                per_chain.append(values.reshape(batch.num_rows, *shape)[rows])
            variables[name] = (("chain", "draw", *dims), np.stack(per_chain))
        sizes = {d: n for dims, v in variables.values() for d, n in zip(dims, v.shape, strict=True)}
        # ArviZ's labels: the given ones, else 0, 1, ...
        labels = {d: np.asarray(coords[d]) if d in coords else np.arange(n)
                  for d, n in sizes.items()}
        return xr.Dataset(variables, coords=labels, attrs=_attrs())

    return az.InferenceData(posterior=group(draws, frozenset()),
                            sample_stats=group(stats, _NUTPIE_UNSTORED))


def _attrs() -> dict[str, str]:
    """The attributes ArviZ gives a group it creates (as nutpie's own conversion leaves them)."""
    return {"created_at": datetime.now(UTC).isoformat(), "arviz_version": az.__version__}


def _data_groups(pm_model: pm.Model) -> dict[str, Any]:
    """``observed_data`` and ``constant_data`` of a model, as PyMC's own sampler stores them."""
    coords, dims = coords_and_dims_for_inferencedata(pm_model)
    groups = {"observed_data": find_observations(pm_model),
              "constant_data": find_constants(pm_model)}
    # the attributes ``library=pm`` gives, without its package-metadata lookup per call
    # (a tenth of a small model's refit overhead)
    attrs = {"inference_library": "pymc", "inference_library_version": pm.__version__}
    return {
        name: az.dict_to_dataset(values, attrs=attrs, coords=coords, dims=dims, default_dims=[])
        for name, values in groups.items()
        if values
    }


def _sample_numpyro(model: BayesModel, values: dict[str, Any], s: SamplerSettings) -> Any:
    pm_model = model.build()
    with pm_model:
        pm.set_data(values, coords=model.coords())
        return pm.sample(
            draws=s.draws,
            tune=s.tune,
            chains=s.chains,
            random_seed=s.seed,
            target_accept=s.target_accept,
            nuts_sampler="numpyro",
            progressbar=False,
            compute_convergence_checks=False,
        )


BACKENDS: dict[str, Callable[[BayesModel, dict[str, Any], SamplerSettings], Any]] = {
    "pymc": _sample_pymc,
    "nutpie": _sample_nutpie,
    "numpyro": _sample_numpyro,
}


def library_versions() -> dict[str, str]:
    """Versions of bayesblina and the libraries that shape its numbers."""
    out = {"python": platform.python_version()}
    for name in ("bayesblina", "pymc", "pytensor", "arviz", "numpy", "scipy", "pandas"):
        try:
            out[name] = importlib.import_module(name).__version__
        except (ImportError, AttributeError):  # pragma: no cover - all are dependencies
            out[name] = "unknown"
    return out


def sample(
    model: BayesModel,
    settings: SamplerSettings,
    *,
    provenance: dict[str, Any] | None = None,
) -> az.InferenceData:
    """Fit ``model`` with its current data and prior.

    Parameters
    ----------
    model : BayesModel
        A model; it is built on first use and its compiled sampler is reused afterwards.
    settings : SamplerSettings
        Backend, draws, tune, chains, target_accept, cores and seed.
    provenance : dict, optional
        Extra attributes to store (e.g. ``{"spec": ..., "prior_set": ...}``).

    Returns
    -------
    arviz.InferenceData
        ``posterior``, ``sample_stats``, ``observed_data`` and ``constant_data`` groups with
        the model's dims; ``posterior.attrs`` (and the root attrs) hold the provenance.

    Raises
    ------
    SamplerError
        If the backend is unknown or its optional packages are missing.
    """
    require_backend(settings.backend)
    values = {**model.data_values(), **model.prior_values()}
    idata = BACKENDS[settings.backend](model, values, settings)
    attrs = {
        **{f"{k}_version": v for k, v in library_versions().items()},
        "sampler": settings.backend,
        "seed": int(settings.seed),
        "draws": int(settings.draws),
        "tune": int(settings.tune),
        "chains": int(settings.chains),
        "target_accept": float(settings.target_accept),
        "model": model.name,
        "data_sha256": model.data_checksum(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for k, v in (provenance or {}).items():
        attrs[k] = v if isinstance(v, (str, int, float)) else str(v)
    idata.posterior.attrs.update(attrs)
    idata.attrs = {**getattr(idata, "attrs", {}), **attrs}
    return idata
