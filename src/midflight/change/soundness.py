"""Tokens that can never complete: the check Camunda leaves to the user (seed 003, "Soundness
Checks"). Run after a modification or migration; the findings are warnings, or a refusal in
strict mode."""

from __future__ import annotations

from midflight.model import MULTI_INSTANCE_BODY_SUFFIX, ElementType
from midflight.runtime.execution import Execution
from midflight.runtime.state import ElementInstance

__all__ = ["soundness_warnings"]


def soundness_warnings(ex: Execution) -> list[str]:
    """What in the instance of ``ex`` can never complete, one sentence each."""
    state = ex.state
    if state.instance.id not in state.elements:
        return []
    warnings: list[str] = []
    scopes = [state.elements[state.instance.id]] + [
        e for e in state.elements.values() if state.children(e.id)
    ]
    for scope in {s.id: s for s in scopes}.values():
        warnings.extend(_stuck_joins(ex, scope))
    for instance in state.elements.values():
        if instance.element_type == ElementType.EVENT_BASED_GATEWAY.value and not (
            any(s.element_instance_id == instance.id for s in state.subscriptions.values())
            or any(j.element_instance_id == instance.id for j in state.jobs.values())
        ):
            warnings.append(
                f"event-based gateway '{instance.element_id}' ({instance.id}) waits with no "
                "subscription or timer left: no event can move it on"
            )
    return warnings


def _stuck_joins(ex: Execution, scope: ElementInstance) -> list[str]:
    reach = ex.reachability()
    live = [
        c.element_id.removesuffix(MULTI_INSTANCE_BODY_SUFFIX) for c in ex.state.children(scope.id)
    ]
    tokens = [t for t in ex.state.join_tokens.values() if t.scope_id == scope.id]
    waiting_at = {t.element_id for t in tokens}
    sources = live + sorted(waiting_at)  # a waiting join can still move on and go further
    candidates = set(waiting_at)
    for element in live:
        candidates.update(reach.get(element, ()))
    found: list[str] = []
    for gateway_id in sorted(candidates):
        gateway = ex.process.node(gateway_id)
        if gateway.type is not ElementType.PARALLEL_GATEWAY or len(gateway.incoming) < 2:
            continue
        arrived = {t.flow_id for t in tokens if t.element_id == gateway_id}
        for flow_id in gateway.incoming:
            if flow_id in arrived:
                continue
            source = ex.process.flows[flow_id].source_id
            if any(e == source or source in reach.get(e, ()) for e in sources if e != gateway_id):
                continue
            where = "the process" if scope.parent_id is None else f"'{scope.element_id}'"
            found.append(
                f"parallel gateway '{gateway_id}' in {where} needs a token over flow "
                f"'{flow_id}', which no remaining token can reach: the instance cannot complete"
            )
    return found
