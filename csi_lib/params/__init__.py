"""Client parameters: one YAML file per client, validated before anything runs.

The model is frozen and forbids unknown keys, so a typo in a params file fails
with the key's path and the file's name instead of being ignored. Every section's
settings live here (``benefits``, ``gaps``, ``maturity``, ``prioritisation``, ``sources``), below the
report packages that read them, so loading params never imports a report.
"""

from csi_lib.params.base import PRIORITIES, SLUG
from csi_lib.params.benefits import BenefitSettings
from csi_lib.params.gaps import GapSettings
from csi_lib.params.maturity import MaturitySettings
from csi_lib.params.model import (
    Params,
    QualitySettings,
    Service,
    check_file_name,
    error_message,
    load_params,
    params_path,
)
from csi_lib.params.prioritisation import PrioritySettings
from csi_lib.params.sources import (
    ADAPTERS,
    CANONICAL_COLUMNS,
    EXPORT_SUFFIXES,
    PERSONAL_COLUMNS,
    EventLog,
    ExportFile,
    Source,
    Sources,
)

__all__ = [
    "ADAPTERS",
    "CANONICAL_COLUMNS",
    "EXPORT_SUFFIXES",
    "PERSONAL_COLUMNS",
    "PRIORITIES",
    "SLUG",
    "BenefitSettings",
    "EventLog",
    "ExportFile",
    "GapSettings",
    "MaturitySettings",
    "Params",
    "PrioritySettings",
    "QualitySettings",
    "Service",
    "Source",
    "Sources",
    "check_file_name",
    "error_message",
    "load_params",
    "params_path",
]
