"""Scenarios of the basic element set; the pattern every conformance module follows."""

from __future__ import annotations

import pytest
from tests.conformance.harness import (
    Advance,
    Clock,
    CompleteTask,
    Expect,
    Scenario,
    Start,
    run_scenario,
)

from midflight import Engine
from midflight.model import ProcessBuilder

SCENARIOS = [
    Scenario(
        "interrupting timer boundary event moves the token to its path",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("review")
            .end_event("e1")
            .boundary_event("t", attached_to="review", timer_duration="PT5M")
            .user_task("escalated")
            .end_event("e2")
            .build()
        ],
        [
            Start(),
            Expect(tree="p\n  review"),
            Advance(minutes=4, fired=0),
            Advance(minutes=2, fired=1),
            Expect(tree="p\n  escalated", tasks=["escalated"]),
            CompleteTask("escalated"),
            Expect(
                state="COMPLETED",
                history=[("element.terminated", "review"), ("element.completed", "t")],
            ),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
