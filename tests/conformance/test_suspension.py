"""Suspending and activating process instances (Camunda 7 semantics).

While suspended: no job is handed out, no timer fires, no async continuation runs, no task or
job completes, no message is correlated, no signal is delivered. Variables can still be set and
the instance can still be cancelled. Activation resumes everything that was held back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.conformance.harness import (
    Advance,
    AsyncJobs,
    Cancel,
    Clock,
    CompleteJob,
    CompleteTask,
    Correlate,
    Custom,
    Expect,
    Scenario,
    Signal,
    Start,
    run_scenario,
)

from midflight import Engine
from midflight.errors import ProcessEngineError
from midflight.model import ProcessBuilder


def suspend() -> Custom:
    return Custom(lambda engine, pid: engine.suspend_process_instance(pid))


def activate() -> Custom:
    return Custom(lambda engine, pid: engine.activate_process_instance(pid))


def refused(action: Callable[[Engine, str], object], *parts: str) -> Custom:
    """``action`` raises ProcessEngineError naming ``parts`` and changes nothing."""

    def check(engine: Engine, pid: str) -> None:
        before = engine.activity_instance_tree(pid)
        with pytest.raises(ProcessEngineError) as caught:
            action(engine, pid)
        for part in parts:
            assert part in str(caught.value), str(caught.value)
        assert engine.activity_instance_tree(pid) == before

    return Custom(check)


def complete_open_task(element_id: str) -> Callable[[Engine, str], object]:
    def act(engine: Engine, pid: str) -> None:
        [task] = engine.user_tasks(pid, element_id=element_id)
        engine.complete_user_task(task.id)

    return act


def jobs_open(job_type: str, count: int) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        jobs = engine.activate_jobs(job_type, "peek", max_jobs=100, lock_seconds=0.001)
        assert len(jobs) == count, f"{len(jobs)} '{job_type}' jobs, expected {count}"
        for job in jobs:
            engine.fail_job(job.id, "peeked", job.retries)

    return Custom(check)


def locked_job_waits_for_activation(engine: Engine, pid: str) -> None:
    """A worker locked the job before the suspension: it cannot complete it until activation."""
    [job] = engine.activate_jobs("work", "early-worker")
    engine.suspend_process_instance(pid)
    with pytest.raises(ProcessEngineError, match="suspended"):
        engine.complete_job(job.id)
    engine.activate_process_instance(pid)
    engine.complete_job(job.id)


USER_TASK = ProcessBuilder("p").start_event("s").user_task("t").end_event("e").build()

SERVICE = (
    ProcessBuilder("p")
    .start_event("s")
    .service_task("work", job_type="work")
    .end_event("e")
    .build()
)

TIMER = (
    ProcessBuilder("p")
    .start_event("s")
    .intermediate_catch_event("wait", timer_duration="PT1H")
    .user_task("t")
    .end_event("e")
    .build()
)

ASYNC = (
    ProcessBuilder("p").start_event("s").user_task("t", async_before=True).end_event("e").build()
)

MESSAGE = (
    ProcessBuilder("p")
    .start_event("s")
    .intermediate_catch_event("wait", message="go", correlation_key="=orderId")
    .user_task("t")
    .end_event("e")
    .build()
)

SIGNAL = (
    ProcessBuilder("p")
    .start_event("s")
    .intermediate_catch_event("wait", signal="alarm")
    .user_task("t")
    .end_event("e")
    .build()
)

AD_HOC = (
    ProcessBuilder("p")
    .start_event("s")
    .ad_hoc_sub_process("ah")
    .user_task("a")
    .sub_process_done()
    .end_event("e")
    .build()
)

CALLER = (
    ProcessBuilder("p")
    .start_event("s")
    .call_activity("call", process_id="child")
    .end_event("e")
    .build()
)
CHILD = ProcessBuilder("child").start_event("cs").user_task("work").end_event("ce").build()


def activate_adhoc(engine: Engine, pid: str) -> None:
    [scope] = engine.activity_instance_tree(pid).instances_of("ah")
    engine.activate_adhoc_elements(scope.id, ["a"])


def child_state(expected: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [child] = [
            i for i in engine.process_instances(key="child") if i.parent_process_instance_id == pid
        ]
        assert child.state == expected

    return Custom(check)


def _suspend_ended(engine: Engine, pid: str) -> None:
    with pytest.raises(ProcessEngineError, match="ended"):
        engine.suspend_process_instance(pid)
    assert engine.process_instance(pid).state == "COMPLETED"


SCENARIOS = [
    Scenario(
        "a suspended instance refuses task completion; activated, the task completes",
        [USER_TASK],
        [
            Start(),
            suspend(),
            Expect(state="SUSPENDED", tree="p\n  t", tasks=["t"]),
            refused(complete_open_task("t"), "suspended"),
            activate(),
            Expect(state="ACTIVE"),
            CompleteTask("t"),
            Expect(
                state="COMPLETED",
                history=[
                    ("process.suspended", None),
                    ("process.activated", None),
                    ("element.completed", "t"),
                ],
            ),
        ],
    ),
    Scenario(
        "no job of a suspended instance is handed out",
        [SERVICE],
        [
            Start(),
            suspend(),
            jobs_open("work", 0),
            activate(),
            jobs_open("work", 1),
            CompleteJob("work"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "a job locked before the suspension cannot be completed while suspended",
        [SERVICE],
        [
            Start(),
            Custom(locked_job_waits_for_activation),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "timers of a suspended instance do not fire; a due one fires after activation",
        [TIMER],
        [
            Start(),
            suspend(),
            Advance(hours=2, fired=0),
            Expect(tree="p\n  wait"),
            activate(),
            Advance(minutes=1, fired=1),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "async continuations of a suspended instance wait for its activation",
        [ASYNC],
        [
            Start(),
            suspend(),
            AsyncJobs(ran=0),
            Expect(tree="p\n  t (async before)"),
            activate(),
            AsyncJobs(ran=1),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "a suspended instance refuses message correlation",
        [MESSAGE],
        [
            Start(variables={"orderId": "o-1"}),
            suspend(),
            refused(lambda e, pid: e.correlate_message("go", "o-1"), "suspended"),
            activate(),
            Correlate("go", "o-1"),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "a signal broadcast while suspended does not reach the instance",
        [SIGNAL],
        [
            Start(),
            suspend(),
            Signal("alarm"),
            activate(),
            Expect(tree="p\n  wait"),
            Signal("alarm"),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "a suspended ad-hoc subprocess refuses new elements",
        [AD_HOC],
        [
            Start(),
            suspend(),
            refused(activate_adhoc, "suspended"),
            activate(),
            Custom(activate_adhoc),
            Expect(tree="p\n  ah\n    a"),
        ],
    ),
    Scenario(
        "variables can be set while suspended, and a suspended instance can be cancelled",
        [USER_TASK],
        [
            Start(),
            suspend(),
            Custom(lambda e, pid: e.set_variables(pid, {"note": "held"})),
            Expect(variables={"note": "held"}),
            Cancel(),
            Expect(state="CANCELED", tasks=[]),
        ],
    ),
    Scenario(
        "a suspended caller's child runs on; its completion resumes the caller on activation",
        [CALLER, CHILD],
        [
            Start(),
            suspend(),
            child_state("ACTIVE"),
            CompleteTask("work", {"result": 7}),
            child_state("COMPLETED"),
            Expect(state="SUSPENDED", tree="p\n  call"),
            activate(),
            Expect(state="COMPLETED", variables={"result": 7}),
        ],
    ),
    Scenario(
        "an ended instance cannot be suspended",
        [ProcessBuilder("p").start_event("s").end_event("e").build()],
        [
            Start(),
            Custom(_suspend_ended),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
