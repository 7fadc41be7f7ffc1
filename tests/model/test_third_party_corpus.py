"""Third-party models (``tests/data/bpmn/third_party``): engine test resources of Camunda 7 and
Camunda 8/Zeebe, read, validated, deployed and started as they are.

Each file has a written-down expectation (``EXPECTED``), chosen from what the model means, not
from what Midflight happens to do: either the leaf elements an instance started with the given
variables waits in (``Runs``), or the validation codes that refuse it (``Refused``; each code
names something Midflight documents as not executed or not accepted). Sources and licence:
``tests/data/bpmn/third_party/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from midflight import Engine
from midflight.errors import ModelValidationError
from midflight.model import (
    Expression,
    ExpressionLanguage,
    parse_bpmn,
    validate_definitions,
    write_bpmn,
)

THIRD_PARTY = Path(__file__).resolve().parent.parent / "data" / "bpmn" / "third_party"
FILES = sorted(p for p in THIRD_PARTY.rglob("*") if p.suffix in (".xml", ".bpmn"))


@dataclass(frozen=True)
class Runs:
    """Deploys; an instance of ``process`` (the only one by default) started with ``variables``
    waits in exactly the leaf elements ``waits_in`` (element id -> number of instances); empty:
    it completed. ``warnings``: the warning codes validation reports."""

    waits_in: Mapping[str, int]
    variables: Mapping[str, Any] = field(default_factory=dict)
    process: str | None = None
    warnings: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Refused:
    """Refused at deploy with exactly these error codes."""

    codes: frozenset[str]


C7 = "camunda7/"
Z = "zeebe/"
EXPECTED: dict[str, Runs | Refused] = {
    # -- Camunda 7 engine test resources ----------------------------------------------------
    C7 + "BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess.bpmn20.xml": Runs(
        {"subprocessTask": 1}
    ),
    # a groovy compensation target needs nothing here, but the receive task without a message
    # is a wait state Midflight cannot address (no "signal execution" API): refused
    C7 + "CompensateEventTest.testCompensateSubprocess.bpmn20.xml": Refused(frozenset({"message"})),
    # the error end event fires at once and the catch-all boundary event takes over
    C7 + "ErrorEndEventTest.testErrorMessageExpression.bpmn20.xml": Runs({"task": 1}),
    C7 + "ErrorEventSubProcessTest.testCatchErrorInEmbeddedSubProcess.bpmn20.xml": Runs(
        {"taskAfterErrorCatch": 1}
    ),
    C7 + "EventBasedGatewayTest.testCatchSignalAndMessageAndTimer.bpmn20.xml": Runs({"gw1": 1}),
    # a flow without condition out of a splitting exclusive gateway: Camunda 7 takes it as
    # "true", Midflight requires a condition or the default (documented rule)
    C7 + "ExclusiveGatewayTest.testNoIdOnSequenceFlow.bpmn20.xml": Refused(
        frozenset({"missing-condition"})
    ),
    C7 + "InclusiveGatewayTest.testSplitMergeSplit.bpmn20.xml": Runs(
        {"theTask1": 1, "theTask2": 1}, {"input": 1}
    ),
    C7 + "MultiInstanceTest.testParallelUserTasksBasedOnCollection.bpmn20.xml": Runs(
        {"miTasks": 3}, {"assigneeList": ["kermit", "gonzo", "fozzie"]}
    ),
    # a groovy script task and a receive task without a message
    C7 + "MultiInstanceTest.testSequentialScriptTasks.bpmn20.xml": Refused(
        frozenset({"unsupported-element", "message"})
    ),
    C7 + "ParallelGatewayTest.testUnstructuredConcurrencyTwoForks.bpmn20.xml": Runs({}),
    C7 + "ProcessInstanceModificationMultiInstanceTest."
    "parallelSubprocessCompletionCondition.bpmn20.xml": Runs({"subProcessTask": 3}),
    C7 + "ProcessInstanceModificationTest.exclusiveGateway.bpmn20.xml": Runs({"task1": 1}),
    C7 + "ProcessInstanceModificationTest."
    "interruptingBoundaryEventWithParallelGatewayInsideSubProcess.bpmn20.xml": Runs(
        {"task1": 1, "task2": 1}
    ),
    C7 + "ProcessInstanceModificationTest.ioMappingOnSubProcessNested.bpmn20.xml": Runs(
        {"innerTask1": 1}
    ),
    C7 + "ProcessInstanceModificationTest.listenerProcess.bpmn20.xml": Runs(
        {"outerTask": 1, "innerTask1": 1, "innerTask2": 1},
        warnings=frozenset({"ignored-listener"}),
    ),
    C7 + "ProcessInstanceModificationTest.nonInterruptingEventSubProcessInsideSubProcess"
    ".bpmn20.xml": Runs({"task1": 1}),
    # -- Camunda 8 / Zeebe engine test resources --------------------------------------------
    Z + "compensation-throw-event.bpmn": Runs({"ActivityToCompensate": 1}),
    Z + "conditional-boundary-event.bpmn": Runs({}),  # an undefined task passes straight on
    Z + "event-based-gateway.bpmn": Runs({"event_gateway": 1}),
    Z + "event-subprocess-conditional-start-event.bpmn": Runs({}),
    Z + "process_with_execution_listeners_and_task_headers.bpmn": Runs(
        {}, warnings=frozenset({"ignored-listener"})
    ),
    Z + "regression-variable-mapping.bpmn": Runs({"send-email": 1}, {"key": "secret"}),
}


def _rel(path: Path) -> str:
    return path.relative_to(THIRD_PARTY).as_posix()


def _leaves(engine: Engine, instance_id: str) -> Iterator[str]:
    tree = engine.activity_instance_tree(instance_id)
    for node in tree.walk():
        if not node.children and node is not tree:
            yield node.element_id


def test_every_file_has_an_expectation() -> None:
    assert sorted(_rel(p) for p in FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_third_party_model(path: Path) -> None:
    expected = EXPECTED[_rel(path)]
    definitions = parse_bpmn(path, validate=False)
    problems = validate_definitions(definitions)
    errors = {p.code for p in problems if p.severity == "error"}
    engine = Engine("sqlite:///:memory:")
    try:
        if isinstance(expected, Refused):
            assert errors == expected.codes, problems
            with pytest.raises(ModelValidationError):
                engine.deploy(path)
            return
        assert not errors, problems
        assert {p.code for p in problems} == expected.warnings
        # what Midflight reads it writes back and reads again unchanged
        assert parse_bpmn(write_bpmn(definitions, layout=False), validate=False) == definitions
        deployed = engine.deploy(path)
        key = expected.process or definitions.process().id
        assert key in {d.key for d in deployed}
        instance = engine.start_process(key, dict(expected.variables))
        assert engine.incidents(process_instance_id=instance.id) == []
        if not expected.waits_in:
            assert engine.process_instance(instance.id).state == "COMPLETED"
            return
        counts: dict[str, int] = {}
        for element_id in _leaves(engine, instance.id):
            element_id = element_id.removesuffix("#multiInstanceBody")
            counts[element_id] = counts.get(element_id, 0) + 1
        assert counts == dict(expected.waits_in)
    finally:
        engine.close()


def test_zeebe_static_mapping_sources_are_strings() -> None:
    """Zeebe's own regression model: sources without '=' are string literals, quotes kept."""
    definitions = parse_bpmn(THIRD_PARTY / Z / "regression-variable-mapping.bpmn")
    sources = {m.target: m.source for m in definitions.process().node("send-email").input_mappings}
    assert sources["apiKey"] == Expression("key", ExpressionLanguage.FEEL)
    assert sources["to.name"] == Expression('"You"', ExpressionLanguage.STATIC)
    assert sources["content.value"] == Expression('This "is a" test.', ExpressionLanguage.STATIC)
    engine = Engine("sqlite:///:memory:")
    try:
        engine.deploy(definitions)
        engine.start_process("regressionProcess", {"key": "secret"})
        [job] = engine.activate_jobs("io.camunda:sendgrid:1", "test")
        assert job.variables["apiKey"] == "secret"
    finally:
        engine.close()
