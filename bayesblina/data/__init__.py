"""Published numbers of the paediatric blinatumomab trial, as typed and validated tables.

Every number is transcribed from von Stackelberg et al., J Clin Oncol 2016, kept exactly
as printed and tagged with its table or figure; the paper's self-contradictions are
recorded in ``contradictions.toml`` (:func:`load_contradictions`), never silently fixed.
"""

from bayesblina.data.loaders import (
    DATA_FILES,
    Phase2Design,
    Phase2Reference,
    data_checksum,
    data_file,
    list_data_files,
    load_adverse_events,
    load_age_by_phase,
    load_baseline,
    load_baseline_medians,
    load_contradictions,
    load_cr_by_blasts,
    load_fig1_flow,
    load_patient_fates,
    load_phase1_cohorts,
    load_phase2_design,
    load_response_categories,
    load_subgroups,
    load_survival_summaries,
    load_table2_proportions,
    load_text_proportions,
)
from bayesblina.data.validate import validate_all

__all__ = [
    "DATA_FILES",
    "Phase2Design",
    "Phase2Reference",
    "data_checksum",
    "data_file",
    "list_data_files",
    "load_adverse_events",
    "load_age_by_phase",
    "load_baseline",
    "load_baseline_medians",
    "load_contradictions",
    "load_cr_by_blasts",
    "load_fig1_flow",
    "load_patient_fates",
    "load_phase1_cohorts",
    "load_phase2_design",
    "load_response_categories",
    "load_subgroups",
    "load_survival_summaries",
    "load_table2_proportions",
    "load_text_proportions",
    "validate_all",
]
