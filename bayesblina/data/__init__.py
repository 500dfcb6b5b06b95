"""Published numbers of the paediatric blinatumomab trial, as typed and validated tables.

Every number is transcribed from von Stackelberg et al., J Clin Oncol 2016, kept exactly
as printed and tagged with its table or figure; the paper's self-contradictions are
recorded in ``contradictions.toml`` (:func:`load_contradictions`), never silently fixed.
"""

from bayesblina.data.contradictions import load_contradictions
from bayesblina.data.design import Phase2Design, Phase2Reference, load_phase2_design
from bayesblina.data.dose_finding import load_phase1_cohorts
from bayesblina.data.files import DATA_FILES, data_checksum, data_file, list_data_files
from bayesblina.data.outcomes import (
    load_adverse_events,
    load_patient_fates,
    load_survival_summaries,
)
from bayesblina.data.population import (
    load_age_by_phase,
    load_baseline,
    load_baseline_medians,
    load_fig1_flow,
)
from bayesblina.data.responses import (
    RESPONSE_CATEGORIES,
    load_cr_by_blasts,
    load_response_categories,
    load_subgroups,
    load_table2_proportions,
    load_text_proportions,
)
from bayesblina.data.validate import validate_all

__all__ = [
    "DATA_FILES",
    "RESPONSE_CATEGORIES",
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
