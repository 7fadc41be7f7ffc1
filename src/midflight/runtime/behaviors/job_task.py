"""Service, send and business-rule tasks: a job for a worker, then wait for its completion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance, JobKind

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

DEFAULT_RETRIES = 3


class JobTaskBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.job
        if spec is None:
            raise InvalidArgumentError(f"task '{node.id}' has no job type for a worker to pick up")
        job_type = ex.evaluate(spec.type, instance.id)
        if not isinstance(job_type, str) or not job_type:
            raise InvalidArgumentError(f"job type of '{node.id}' evaluated to {job_type!r}")
        retries = DEFAULT_RETRIES
        if spec.retries is not None:
            raw = ex.evaluate(spec.retries, instance.id)
            try:
                retries = int(raw)
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    f"retries of '{node.id}' evaluated to {raw!r}, not a whole number"
                ) from None
        payload = {"headers": dict(spec.headers)} if spec.headers else None
        ex.create_job(
            instance, kind=JobKind.TASK, job_type=job_type, retries=retries, payload=payload
        )
