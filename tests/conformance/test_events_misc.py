"""Intermediate events, start events and the event-based gateway.

Intermediate throw events: signal (broadcast to every instance), escalation, message (a job for
a worker), link and compensation; intermediate catch events: message, timer, signal and
conditional. Start events: message, signal and timer (date, duration, cycle). The event-based
gateway: the first event wins and the others are cancelled (their subscriptions and timers are
gone, a losing timer never fires). Bad input: a message nobody waits for is refused and changes
nothing; a timer value that does not parse refuses the deployment, naming the element.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conformance.harness import (
    Advance,
    Clock,
    CompleteJob,
    CompleteTask,
    Correlate,
    Custom,
    Expect,
    Scenario,
    Start,
    run_scenario,
)
from tests.conformance.harness import Context as _Context
from tests.conformance.test_boundary_events import Adopt, Live, Refused, Signalled, set_vars

from midflight import Engine
from midflight.errors import ModelValidationError
from midflight.model import ProcessBuilder

# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------


def _catching(**event: Any) -> Any:
    """p: catch (intermediate catch event) -> next (user task)."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .intermediate_catch_event("catch", **event)
        .user_task("next")
        .end_event("done")
        .build()
    )


def _event_gateway(conditional: str | None = None) -> Any:
    """p: event-based gateway between a message, a timer, a signal (and a condition)."""
    b = (
        ProcessBuilder("p")
        .start_event("s")
        .event_based_gateway("gw")
        .intermediate_catch_event("paid", message="payment", correlation_key="=orderId")
        .user_task("ship")
        .end_event("shipped")
        .move_to("gw")
        .intermediate_catch_event("timeout", timer_duration="PT1H")
        .user_task("remind")
        .end_event("reminded")
        .move_to("gw")
        .intermediate_catch_event("stopped", signal="stop-all")
        .user_task("halt")
        .end_event("halted")
    )
    if conditional is not None:
        b = b.move_to("gw").intermediate_catch_event("flagged", conditional=conditional)
        b = b.user_task("review").end_event("reviewed")
    return b.build()


def _starting(key: str, **event: Any) -> Any:
    return ProcessBuilder(key).start_event("start", **event).user_task("work").end_event().build()


_C8_MESSAGE_THROW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="defs_c8_throw" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c8_throw" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="notify"/>
    <bpmn:intermediateThrowEvent id="notify">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="send-notification" retries="5"/>
        <zeebe:taskHeaders><zeebe:header key="channel" value="mail"/></zeebe:taskHeaders>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="msg_notice"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="notify" targetRef="await"/>
    <bpmn:userTask id="await"/>
    <bpmn:sequenceFlow id="f3" sourceRef="await" targetRef="reply"/>
    <bpmn:endEvent id="reply">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="send-reply"/>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="msg_reply"/>
    </bpmn:endEvent>
  </bpmn:process>
  <bpmn:message id="msg_notice" name="notice"/>
  <bpmn:message id="msg_reply" name="reply"/>
</bpmn:definitions>
"""

_C7_MESSAGE_THROW_AND_LINKS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs_c7_throw" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_throw" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="inform"/>
    <bpmn:intermediateThrowEvent id="inform">
      <bpmn:messageEventDefinition messageRef="msg_info"
          camunda:type="external" camunda:topic="inform-customer"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="inform" targetRef="go_archive"/>
    <bpmn:intermediateThrowEvent id="go_archive">
      <bpmn:linkEventDefinition name="Archive"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="archive_here">
      <bpmn:linkEventDefinition name="Archive"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="archive_here" targetRef="archive"/>
    <bpmn:userTask id="archive"/>
    <bpmn:sequenceFlow id="f4" sourceRef="archive" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
  <bpmn:message id="msg_info" name="CustomerInformed"/>
</bpmn:definitions>
"""

_C7_CONDITIONAL_AND_SIGNAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs_c7_cond" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_cond" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="stock_ok"/>
    <bpmn:intermediateCatchEvent id="stock_ok">
      <bpmn:conditionalEventDefinition camunda:variableName="stock">
        <bpmn:condition xsi:type="bpmn:tFormalExpression">${stock &gt;= ordered}</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="stock_ok" targetRef="announce"/>
    <bpmn:intermediateThrowEvent id="announce">
      <bpmn:signalEventDefinition signalRef="sig_stock"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="announce" targetRef="pick"/>
    <bpmn:userTask id="pick"/>
    <bpmn:sequenceFlow id="f4" sourceRef="pick" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
  <bpmn:process id="c7_waiter" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="ws"/>
    <bpmn:sequenceFlow id="g1" sourceRef="ws" targetRef="wait_stock"/>
    <bpmn:intermediateCatchEvent id="wait_stock">
      <bpmn:signalEventDefinition signalRef="sig_stock"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="g2" sourceRef="wait_stock" targetRef="resume"/>
    <bpmn:userTask id="resume"/>
    <bpmn:sequenceFlow id="g3" sourceRef="resume" targetRef="we"/>
    <bpmn:endEvent id="we"/>
  </bpmn:process>
  <bpmn:signal id="sig_stock" name="StockArrived"/>
</bpmn:definitions>
"""


def _bad_timer_xml(dialect: str, kind: str, value: str) -> str:
    ns = (
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'
        if dialect == "c8"
        else 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns}
    id="defs_bad" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="bad_timer" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


# ----------------------------------------------------------------------------------------------
# steps
# ----------------------------------------------------------------------------------------------


class DeployRefused:
    """Deploying ``model`` fails with a ModelValidationError naming ``element_id``; nothing is
    deployed."""

    def __init__(self, model: Any, element_id: str, words: str) -> None:
        self.model, self.element_id, self.words = model, element_id, words

    def __call__(self, ctx: _Context, default_key: str) -> None:
        before = ctx.engine.definitions()
        with pytest.raises(ModelValidationError) as caught:
            model = self.model() if callable(self.model) else self.model
            ctx.engine.deploy(model)
        problems = [p for p in caught.value.problems if p.element_id == self.element_id]
        assert problems, f"no problem names '{self.element_id}': {caught.value.problems}"
        assert self.words in problems[0].message, problems[0].message
        assert ctx.engine.definitions() == before


def _definition_version(version: int) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        assert engine.process_instance(pid).definition_version == version

    return Custom(check)


def _job_headers(job_type: str, headers: dict[str, str], retries: int) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [job] = engine.activate_jobs(job_type, "probe", max_jobs=5)
        assert job.headers == headers and job.retries == retries
        engine.complete_job(job.id)

    return Custom(check)


def _builder_bad_timer() -> Any:
    return (
        ProcessBuilder("bad_builder")
        .start_event("s")
        .user_task("t")
        .end_event("e")
        .boundary_event("late", attached_to="t", timer_duration="PT1D")
        .end_event("e2")
        .build()
    )


# ----------------------------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------------------------

SCENARIOS = [
    # -- intermediate catch events -------------------------------------------------------------
    Scenario(
        "message catch event with a correlation key takes the message's variables",
        [_catching(message="approved", correlation_key="=requestId")],
        [
            Start(variables={"requestId": 17}),
            Live(subscriptions=[("message", "catch")]),
            Refused(Correlate("approved", 18)),
            Correlate("approved", 17, {"approver": "kim"}),
            Expect(tree="p\n  next", variables={"approver": "kim"}),
            Live(subscriptions=[]),
            Refused(Correlate("approved", 17)),
        ],
    ),
    Scenario(
        "timer catch event (duration)",
        [_catching(timer_duration="PT15M")],
        [
            Start(),
            Live(timers=["catch"]),
            Advance(minutes=14, fired=0),
            Advance(minutes=1, fired=1),
            Expect(tree="p\n  next", history=[("timer.fired", "catch")]),
            Live(timers=[]),
        ],
    ),
    Scenario(
        "timer catch event (date from a variable)",
        [_catching(timer_date="=due")],
        [
            Start(variables={"due": "2026-03-03T09:00:00Z"}),
            Advance(hours=23, fired=0),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "timer catch event whose date has passed fires at the next round",
        [_catching(timer_date="2026-01-01T00:00:00Z")],
        [
            Start(),
            Advance(fired=1),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "signal catch events of several instances and processes all receive one broadcast",
        [_catching(signal="go"), _starting("other", signal="go")],
        [
            Start(alias="one"),
            Start(alias="two"),
            Live(instance="two", subscriptions=[("signal", "catch")]),
            Signalled("go", reached=3, variables={"why": "ready"}),  # two catches, one start
            Expect(instance="one", tree="p\n  next", variables={"why": "ready"}),
            Expect(instance="two", tree="p\n  next"),
            Adopt("other", alias="started", count=1),
            Expect(instance="started", tree="other\n  work", variables={"why": "ready"}),
            Signalled("go", reached=1),
        ],
    ),
    Scenario(
        "conditional catch event waits until its condition holds",
        [_catching(conditional="=approved and amount < 1000")],
        [
            Start(variables={"approved": False, "amount": 10}),
            Expect(tree="p\n  catch"),
            Live(subscriptions=[("conditional", "catch")]),
            set_vars(approved=True, amount=5000),
            Expect(tree="p\n  catch"),
            set_vars(amount=500),
            Expect(tree="p\n  next"),
            Live(subscriptions=[]),
        ],
    ),
    Scenario(
        "conditional catch event whose condition already holds passes at once",
        [_catching(conditional="=ready")],
        [
            Start(variables={"ready": True}),
            Expect(tree="p\n  next"),
            Live(subscriptions=[]),
        ],
    ),
    Scenario(
        "Camunda 7: conditional catch (JUEL) then a signal throw that resumes another process",
        [_C7_CONDITIONAL_AND_SIGNAL],
        [
            Start("c7_waiter", alias="waiter"),
            Start("c7_cond", variables={"stock": 0, "ordered": 3}),
            Expect(tree="c7_cond\n  stock_ok"),
            set_vars(stock=5),
            Expect(tree="c7_cond\n  pick"),
            Expect(instance="waiter", tree="c7_waiter\n  resume"),
            Expect(history=[("element.completed", "stock_ok"), ("signal.thrown", "announce")]),
        ],
    ),
    # -- intermediate throw events -------------------------------------------------------------
    Scenario(
        "signal throw event broadcasts to other instances and its own boundary",
        [
            ProcessBuilder("p")
            .start_event("s")
            .parallel_gateway("fork")
            .user_task("step")
            .intermediate_throw_event("announce", signal="announced")
            .end_event("thrower_end")
            .move_to("fork")
            .user_task("listen")
            .end_event("listen_end")
            .boundary_event("heard", attached_to="listen", signal="announced")
            .user_task("react")
            .end_event("react_end")
            .build(),
            ProcessBuilder("q")
            .start_event("qs")
            .intermediate_catch_event("wait", signal="announced")
            .user_task("q_next")
            .end_event("qe")
            .build(),
        ],
        [
            Start("q", alias="other"),
            Start("p"),
            CompleteTask("step"),
            Expect(tree="p\n  react"),
            Expect(instance="other", tree="q\n  q_next"),
        ],
    ),
    Scenario(
        "signal end event starts the instances of a signal start process",
        [
            ProcessBuilder("p").start_event("s").end_event("broadcast", signal="kickoff").build(),
            _starting("follower", signal="kickoff"),
        ],
        [
            Start("p"),
            Expect(state="COMPLETED"),
            Adopt("follower", alias="follower", count=1),
            Expect(instance="follower", tree="follower\n  work"),
        ],
    ),
    Scenario(
        "Camunda 8: message throw event and message end event are jobs for workers",
        [_C8_MESSAGE_THROW],
        [
            Start(),
            Expect(tree="c8_throw\n  notify"),
            _job_headers("send-notification", {"channel": "mail"}, 5),
            Expect(tree="c8_throw\n  await"),
            CompleteTask("await"),
            Expect(tree="c8_throw\n  reply"),
            CompleteJob("send-reply"),
            Expect(
                state="COMPLETED",
                history=[
                    ("job.completed", "notify"),
                    ("element.completed", "notify"),
                    ("job.completed", "reply"),
                    ("process.completed", "c8_throw"),
                ],
            ),
        ],
    ),
    Scenario(
        "Camunda 7: external message throw, then a link jumps to its catch event",
        [_C7_MESSAGE_THROW_AND_LINKS],
        [
            Start(),
            Expect(tree="c7_throw\n  inform"),
            CompleteJob("inform-customer"),
            Expect(tree="c7_throw\n  archive"),
            Expect(
                history=[
                    ("element.completed", "go_archive"),
                    ("element.activated", "archive_here"),
                    ("element.completed", "archive_here"),
                ]
            ),
        ],
    ),
    Scenario(
        "link events inside a subprocess connect paths of that subprocess",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("ss")
            .exclusive_gateway("choose", default="to_b")
            .condition("=fast")
            .intermediate_throw_event("jump", link="Finish")
            .move_to("choose")
            .flow_id("to_b")
            .user_task("slow_work")
            .intermediate_throw_event("jump_too", link="Finish")
            .intermediate_catch_event("land", link="Finish")
            .user_task("finish")
            .end_event("se")
            .sub_process_done()
            .end_event("done")
            .build()
        ],
        [
            Start(variables={"fast": True}, alias="fast"),
            Expect(instance="fast", tree="p\n  sub\n    finish"),
            Start(variables={"fast": False}, alias="slow"),
            Expect(instance="slow", tree="p\n  sub\n    slow_work"),
            CompleteTask("slow_work"),
            Expect(instance="slow", tree="p\n  sub\n    finish"),
        ],
    ),
    Scenario(
        "escalation throw in the process itself is caught by a process-level subprocess",
        [
            ProcessBuilder("p")
            .start_event("s")
            .intermediate_throw_event("warn", escalation="BUDGET")
            .user_task("continue_work")
            .end_event("done")
            .event_sub_process("esp")
            .start_event("esp_s", escalation="BUDGET", interrupting=False)
            .user_task("inform_manager")
            .end_event("esp_e")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            Expect(tree="p\n  continue_work\n  esp\n    inform_manager"),
        ],
    ),
    Scenario(
        "compensation throw runs the handlers of completed activities, newest first",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("book_hotel")
            .boundary_event("undo_hotel", attached_to="book_hotel", compensate=True)
            .user_task("cancel_hotel")
            .move_to("book_hotel")
            .user_task("book_flight")
            .boundary_event("undo_flight", attached_to="book_flight", compensate=True)
            .user_task("cancel_flight")
            .move_to("book_flight")
            .user_task("pay")
            .intermediate_throw_event("compensate_all", compensate=True)
            .end_event("done")
            .build()
        ],
        [
            Start(),
            CompleteTask("book_hotel"),
            CompleteTask("book_flight"),
            CompleteTask("pay"),
            Expect(tree="p\n  cancel_flight\n  cancel_hotel\n  compensate_all"),
            Expect(
                history=[
                    ("element.activated", "cancel_flight"),
                    ("element.activated", "cancel_hotel"),
                ]
            ),
            CompleteTask("cancel_flight"),
            Expect(tree="p\n  cancel_hotel\n  compensate_all"),
            CompleteTask("cancel_hotel"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "compensation throw naming one activity compensates only that one",
        [
            ProcessBuilder("p")
            .start_event("s")
            .task("reserve")
            .boundary_event("undo_reserve", attached_to="reserve", compensate=True)
            .user_task("release")
            .move_to("reserve")
            .task("charge")
            .boundary_event("undo_charge", attached_to="charge", compensate=True)
            .user_task("refund")
            .move_to("charge")
            .intermediate_throw_event("refund_only", compensate="charge")
            .user_task("after")
            .end_event("done")
            .build()
        ],
        [
            Start(),
            Expect(tree="p\n  refund\n  refund_only", tasks=["refund"]),
            CompleteTask("refund"),
            Expect(tree="p\n  after", tasks=["after"]),
        ],
    ),
    Scenario(
        "compensation throw with nothing completed to compensate just goes on",
        [
            ProcessBuilder("p")
            .start_event("s")
            .exclusive_gateway("skip", default="do_it")
            .condition("=skip")
            .intermediate_throw_event("undo", compensate=True)
            .user_task("after")
            .end_event("done")
            .move_to("skip")
            .flow_id("do_it")
            .task("work")
            .boundary_event("undo_work", attached_to="work", compensate=True)
            .user_task("revert")
            .move_to("work")
            .connect_to("undo")
            .build()
        ],
        [
            Start(variables={"skip": True}),
            Expect(tree="p\n  after"),
        ],
    ),
    # -- start events --------------------------------------------------------------------------
    Scenario(
        "message start event: correlating starts an instance with the message's variables",
        [_starting("orders", message="order-placed")],
        [
            Correlate("order-placed", variables={"item": "book"}),
            Adopt("orders", count=1),
            Expect(tree="orders\n  work", variables={"item": "book"}),
            Expect(history=[("process.started", "orders"), ("element.completed", "start")]),
            Correlate("order-placed"),
            Adopt("orders", count=2),
        ],
    ),
    Scenario(
        "a message for a running instance wins over the message start event",
        [_starting("orders", message="order-placed"), _catching(message="order-placed")],
        [
            Start("p"),
            Correlate("order-placed"),
            Expect(tree="p\n  next"),
            Custom(lambda e, pid: _instances(e, "orders", 0)),
        ],
    ),
    Scenario(
        "signal start event: every broadcast starts one instance",
        [_starting("alarm", signal="fire")],
        [
            Signalled("fire", reached=1),
            Signalled("fire", reached=1),
            Adopt("alarm", count=2),
            Expect(tree="alarm\n  work"),
        ],
    ),
    Scenario(
        "timer start event (duration) starts one instance after deployment",
        [_starting("nightly", timer_duration="PT8H")],
        [
            Advance(hours=7, fired=0),
            Custom(lambda e, pid: _instances(e, "nightly", 0)),
            Advance(hours=1, fired=1),
            Adopt("nightly", count=1),
            Expect(tree="nightly\n  work"),
            Advance(days=3, fired=0),
            Custom(lambda e, pid: _instances(e, "nightly", 1)),
        ],
    ),
    Scenario(
        "timer start event (date)",
        [_starting("launch", timer_date="2026-03-05T00:00:00Z")],
        [
            Advance(days=2, fired=0),
            Advance(days=1, fired=1),
            Adopt("launch", count=1),
            Advance(days=10, fired=0),
        ],
    ),
    Scenario(
        "timer start event (cycle R3/PT1H) starts three instances, one an hour",
        [_starting("hourly", timer_cycle="R3/PT1H")],
        [
            Advance(minutes=59, fired=0),
            Advance(minutes=1, fired=1),
            Advance(hours=1, fired=1),
            Advance(hours=1, fired=1),
            Advance(hours=5, fired=0),
            Adopt("hourly", count=3),
        ],
    ),
    Scenario(
        "a new version's timer start event replaces the old version's",
        [_starting("report", timer_duration="PT1H"), _starting("report", timer_duration="PT2H")],
        [
            Advance(hours=1, fired=0),
            Advance(hours=1, fired=1),
            Adopt("report", count=1),
            _definition_version(2),
        ],
    ),
    # -- event-based gateway -------------------------------------------------------------------
    Scenario(
        "event-based gateway: the message wins; the timer is gone and never fires",
        [_event_gateway()],
        [
            Start(variables={"orderId": "o-7"}),
            Expect(tree="p\n  gw"),
            Live(subscriptions=[("message", "paid"), ("signal", "stopped")], timers=["timeout"]),
            Correlate("payment", "o-7", {"paidAmount": 12}),
            Expect(tree="p\n  ship", variables={"paidAmount": 12}),
            Live(subscriptions=[], timers=[]),
            Advance(hours=2, fired=0),
            Signalled("stop-all", reached=0),
            Expect(
                tree="p\n  ship",
                history=[
                    ("element.completed", "gw"),
                    ("element.activated", "paid"),
                    ("element.completed", "paid"),
                    ("element.activated", "ship"),
                ],
            ),
        ],
    ),
    Scenario(
        "event-based gateway: the timer wins; the message is refused afterwards",
        [_event_gateway()],
        [
            Start(variables={"orderId": "o-8"}),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  remind"),
            Live(subscriptions=[], timers=[]),
            Refused(Correlate("payment", "o-8")),
        ],
    ),
    Scenario(
        "event-based gateway: the signal wins",
        [_event_gateway()],
        [
            Start(variables={"orderId": "o-9"}),
            Signalled("stop-all", reached=1),
            Expect(tree="p\n  halt"),
            Live(subscriptions=[], timers=[]),
            Advance(hours=3, fired=0),
        ],
    ),
    Scenario(
        "event-based gateway: a condition that becomes true wins",
        [_event_gateway(conditional="=flag = true")],
        [
            Start(variables={"orderId": "o-10", "flag": False}),
            Live(
                subscriptions=[
                    ("conditional", "flagged"),
                    ("message", "paid"),
                    ("signal", "stopped"),
                ]
            ),
            set_vars(flag=True),
            Expect(tree="p\n  review"),
            Live(subscriptions=[], timers=[]),
        ],
    ),
    Scenario(
        "event-based gateway before a receive task",
        [
            ProcessBuilder("p")
            .start_event("s")
            .event_based_gateway("gw")
            .receive_task("answer", message="answer")
            .user_task("read")
            .end_event("read_end")
            .move_to("gw")
            .intermediate_catch_event("no_answer", timer_duration="P2D")
            .end_event("gave_up")
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "answer")], timers=["no_answer"]),
            Correlate("answer", variables={"text": "yes"}),
            Expect(tree="p\n  read", variables={"text": "yes"}),
            Advance(days=3, fired=0),
        ],
    ),
    Scenario(
        "event-based gateway inside a subprocess cancelled by a boundary event",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("ss")
            .event_based_gateway("gw")
            .intermediate_catch_event("msg", message="m")
            .end_event("se1")
            .move_to("gw")
            .intermediate_catch_event("tmr", timer_duration="PT1H")
            .end_event("se2")
            .sub_process_done()
            .end_event("done")
            .boundary_event("abort", attached_to="sub", signal="abort")
            .user_task("aborted")
            .end_event("ae")
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "msg"), ("signal", "abort")], timers=["tmr"]),
            Signalled("abort", reached=1),
            Expect(tree="p\n  aborted"),
            Live(subscriptions=[], timers=[]),
            Advance(hours=2, fired=0),
            Refused(Correlate("m")),
        ],
    ),
    # -- bad input -----------------------------------------------------------------------------
    Scenario(
        "a message nobody waits for is refused and changes nothing",
        [_catching(message="expected", correlation_key="=key")],
        [
            Start(variables={"key": "k1"}),
            Refused(Correlate("unexpected")),
            Refused(Correlate("expected", "k2")),
            Refused(Correlate("expected")),
            Expect(tree="p\n  catch"),
            Correlate("expected", "k1"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "a signal nobody waits for reaches nobody and changes nothing",
        [_catching(signal="known")],
        [
            Start(),
            Signalled("unknown", reached=0),
            Expect(tree="p\n  catch"),
            Live(subscriptions=[("signal", "catch")]),
        ],
    ),
    Scenario(
        "timer values that do not parse refuse the deployment, naming the element",
        [],
        [
            DeployRefused(_bad_timer_xml("c8", "timeDuration", "PT5X"), "wait", "PT5X"),
            DeployRefused(_bad_timer_xml("c7", "timeCycle", "R3/PTX"), "wait", "PTX"),
            DeployRefused(_bad_timer_xml("c8", "timeDate", "not-a-date"), "wait", "not-a-date"),
            DeployRefused(_bad_timer_xml("c7", "timeDuration", "5 minutes"), "wait", "5 minutes"),
            DeployRefused(_bad_timer_xml("c8", "timeCycle", "every day"), "wait", "every day"),
            DeployRefused(_builder_bad_timer, "late", "PT1D"),
        ],
    ),
    Scenario(
        "timer expressions and cron cycles are checked when scheduled, not at deployment",
        [
            _bad_timer_xml("c8", "timeDuration", "=delay"),
            _bad_timer_xml("c7", "timeCycle", "0 0 6 * * MON").replace(
                'id="bad_timer"', 'id="cron_timer"'
            ),
        ],
        [
            Start("bad_timer", variables={"delay": "PT5X"}),
            Expect(tree="bad_timer\n  wait", incidents=["EXPRESSION"]),
        ],
    ),
]


def _instances(engine: Engine, key: str, count: int) -> None:
    found = engine.process_instances(key=key)
    assert len(found) == count, f"{len(found)} instances of '{key}', expected {count}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
