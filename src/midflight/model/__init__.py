"""BPMN 2.0 in, an immutable process graph out: parse, validate, build and write models.

Public API::

    parse_bpmn(source) -> Definitions          # path, bytes or str; validates executable processes
    validate_definitions(definitions) -> list[Problem]
    write_bpmn(definitions) -> str             # with a generated layout where the source had none
    ProcessBuilder                             # models in code
"""

from midflight.errors import BpmnParseError, ModelValidationError, Problem
from midflight.model.builder import ProcessBuilder
from midflight.model.elements import (
    ACTIVITY_TYPES,
    MULTI_INSTANCE_BODY_SUFFIX,
    SCOPE_TYPES,
    AdHoc,
    Artifact,
    Bounds,
    CalledDecision,
    CalledElement,
    Collaboration,
    Definitions,
    Diagram,
    DiagramEdge,
    DiagramShape,
    ElementType,
    Error,
    Escalation,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    IoMapping,
    JobDefinition,
    Lane,
    Listener,
    Message,
    MessageFlow,
    MultiInstance,
    Participant,
    Point,
    Process,
    Script,
    SequenceFlow,
    Signal,
    StandardLoop,
    TimerDefinition,
    TimerKind,
    UserTaskDefinition,
)
from midflight.model.parser import parse_bpmn
from midflight.model.validate import validate_definitions
from midflight.model.writer import write_bpmn

__all__ = [
    # entry points
    "parse_bpmn",
    "validate_definitions",
    "write_bpmn",
    "ProcessBuilder",
    # errors
    "BpmnParseError",
    "ModelValidationError",
    "Problem",
    # graph
    "ACTIVITY_TYPES",
    "MULTI_INSTANCE_BODY_SUFFIX",
    "SCOPE_TYPES",
    "AdHoc",
    "Artifact",
    "Bounds",
    "CalledDecision",
    "CalledElement",
    "Collaboration",
    "Definitions",
    "Diagram",
    "DiagramEdge",
    "DiagramShape",
    "ElementType",
    "Error",
    "Escalation",
    "EventDefinition",
    "EventDefinitionType",
    "Expression",
    "ExpressionLanguage",
    "FlowNode",
    "IoMapping",
    "JobDefinition",
    "Lane",
    "Listener",
    "Message",
    "MessageFlow",
    "MultiInstance",
    "Participant",
    "Point",
    "Process",
    "Script",
    "SequenceFlow",
    "Signal",
    "StandardLoop",
    "TimerDefinition",
    "TimerKind",
    "UserTaskDefinition",
]
