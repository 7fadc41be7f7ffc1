"""The Midflight engine facade: deploy, start, drive and inspect process instances."""

from midflight.engine._engine import Engine
from midflight.engine._migration import (
    Batch,
    InstanceMigrationReport,
    MigrationPlanBuilder,
    MigrationResult,
    MigrationValidationReport,
    OperationItem,
)
from midflight.engine._modification import (
    ModificationBatchResult,
    ModificationPreview,
    ModificationResult,
    MultipleInstanceModification,
    ProcessInstanceModification,
    ProcessInstantiation,
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
    "Batch",
    "Engine",
    "InstanceMigrationReport",
    "MigrationPlanBuilder",
    "MigrationResult",
    "MigrationValidationReport",
    "OperationItem",
    "HistoryEntry",
    "IncidentInfo",
    "MessageCorrelation",
    "ModificationBatchResult",
    "ModificationPreview",
    "ModificationResult",
    "MultipleInstanceModification",
    "ProcessInstanceModification",
    "ProcessInstantiation",
    "ProcessDefinition",
    "ProcessInstance",
    "TransitionInstance",
    "UserTaskInfo",
]
