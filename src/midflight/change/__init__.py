"""Operations that change running instances: modification and migration (+ undo, soundness)."""

from midflight.change.migration import (
    MigrationInstruction,
    MigrationPlan,
    MigrationPlanValidationError,
)
from midflight.change.modification import (
    INSTRUCTION_KINDS,
    ModificationInstruction,
    apply_instructions,
    cancel_with_propagation,
    resolve_scope,
)
from midflight.change.soundness import soundness_warnings
from midflight.change.undo import restore_rows, snapshot

__all__ = [
    "MigrationInstruction",
    "MigrationPlan",
    "MigrationPlanValidationError",
    "INSTRUCTION_KINDS",
    "ModificationInstruction",
    "apply_instructions",
    "cancel_with_propagation",
    "resolve_scope",
    "restore_rows",
    "snapshot",
    "soundness_warnings",
]
