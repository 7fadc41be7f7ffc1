"""The Midflight engine facade: deploy, start, drive and inspect process instances."""

from midflight.engine._engine import Engine
from midflight.engine._modification import (
    ModificationBatchResult,
    ModificationPreview,
    ModificationResult,
    MultipleInstanceModification,
    ProcessInstanceModification,
)
from midflight.engine._types import (
    ActivatedJob,
    ActivityInstance,
    HistoryEntry,
    IncidentInfo,
    MessageCorrelation,
    ProcessDefinition,
    ProcessInstance,
    TransitionInstance,
    UserTaskInfo,
)

__all__ = [
    "ActivatedJob",
    "ActivityInstance",
    "Engine",
    "HistoryEntry",
    "IncidentInfo",
    "MessageCorrelation",
    "ModificationBatchResult",
    "ModificationPreview",
    "ModificationResult",
    "MultipleInstanceModification",
    "ProcessInstanceModification",
    "ProcessDefinition",
    "ProcessInstance",
    "TransitionInstance",
    "UserTaskInfo",
]
