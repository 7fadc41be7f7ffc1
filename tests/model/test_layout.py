"""The layered auto-layout: readable, non-overlapping and deterministic."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from midflight.model.builder import ProcessBuilder
from midflight.model.elements import (
    Bounds,
    Collaboration,
    Definitions,
    Diagram,
    DiagramEdge,
    DiagramShape,
    MessageFlow,
    Participant,
    Point,
)
from midflight.model.layout import complete_diagrams, layout_definitions


def shapes(diagram: Diagram) -> dict[str, Bounds]:
    return {s.element_id: s.bounds for s in diagram.shapes}


def edges(diagram: Diagram) -> dict[str, tuple[Point, ...]]:
    return {e.element_id: e.waypoints for e in diagram.edges}


def center(b: Bounds) -> tuple[float, float]:
    return b.x + b.width / 2, b.y + b.height / 2


def inside(inner: Bounds, outer: Bounds) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def disjoint(a: Bounds, b: Bounds) -> bool:
    return (
        a.x + a.width <= b.x
        or b.x + b.width <= a.x
        or a.y + a.height <= b.y
        or b.y + b.height <= a.y
    )


def only_diagram(definitions: Definitions) -> Diagram:
    (diagram,) = layout_definitions(definitions)
    return diagram


def test_a_straight_path_runs_left_to_right_on_one_line_with_standard_sizes() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("t")
        .exclusive_gateway("g")
        .end_event("e")
        .build(validate=False)
    )
    diagram = only_diagram(definitions)
    assert diagram.plane_element_id == "p"
    b = shapes(diagram)
    assert [(b[i].width, b[i].height) for i in "stge"] == [(36, 36), (100, 80), (50, 50), (36, 36)]
    assert len({center(b[i])[1] for i in "stge"}) == 1
    xs = [b[i].x for i in "stge"]
    assert xs == sorted(xs) and len(set(xs)) == 4
    for flow_id, points in edges(diagram).items():
        flow = definitions.process().flows[flow_id]
        source, target = b[flow.source_id], b[flow.target_id]
        assert points == (
            Point(source.x + source.width, center(source)[1]),
            Point(target.x, center(target)[1]),
        )


def test_branches_take_their_own_rows_and_meet_again() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .task("a")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .task("b")
        .connect_to("join")
        .move_to("fork")
        .task("c")
        .connect_to("join")
        .build(validate=False)
    )
    diagram = only_diagram(definitions)
    b = shapes(diagram)
    assert b["a"].x == b["b"].x == b["c"].x
    assert b["a"].y < b["b"].y < b["c"].y
    assert center(b["fork"])[1] == center(b["a"])[1] == center(b["join"])[1]
    assert b["join"].x > b["a"].x + b["a"].width
    # the gateway sends the lower branches down from its bottom, then right
    down = edges(diagram)["Flow_fork_b"]
    assert down[0] == Point(center(b["fork"])[0], b["fork"].y + b["fork"].height)
    assert down[-1] == Point(b["b"].x, center(b["b"])[1])
    assert all(p.x == q.x or p.y == q.y for p, q in pairwise(down))


def test_cycles_are_broken_and_loops_run_underneath() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .exclusive_gateway("merge")
        .task("work")
        .exclusive_gateway("again")
        .condition("done")
        .end_event("e")
        .move_to("again")
        .condition("not(done)")
        .connect_to("merge")
        .build(validate=False)
    )
    diagram = only_diagram(definitions)
    b = shapes(diagram)
    xs = [b[i].x for i in ("s", "merge", "work", "again", "e")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    loop = edges(diagram)["Flow_again_merge"]
    lowest = max(b[i].y + b[i].height for i in ("merge", "again"))
    assert min(p.y for p in loop) > center(b["again"])[1]
    assert max(p.y for p in loop) > lowest
    assert loop[-1] == Point(center(b["merge"])[0], b["merge"].y + b["merge"].height)


def test_boundary_events_sit_on_the_bottom_edge_of_their_host() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("t")
        .boundary_event("b1", timer_duration="PT1M")
        .end_event("late")
        .boundary_event("b2", attached_to="t", error=True)
        .end_event("failed")
        .boundary_event("b3", attached_to="t", message="m", cancel_activity=False)
        .end_event("told")
        .move_to("t")
        .end_event("e")
        .build(validate=False)
    )
    diagram = only_diagram(definitions)
    b = shapes(diagram)
    host = b["t"]
    for event_id in ("b1", "b2", "b3"):
        event = b[event_id]
        assert center(event)[1] == host.y + host.height
        assert host.x <= event.x and event.x + event.width <= host.x + host.width
    assert disjoint(b["b1"], b["b2"]) and disjoint(b["b2"], b["b3"])
    assert b["late"].y > host.y + host.height
    out = edges(diagram)["Flow_b1_late"]
    assert out[0] == Point(center(b["b1"])[0], b["b1"].y + b["b1"].height)


def test_subprocesses_are_sized_around_their_children() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("outer")
        .start_event("o_s")
        .sub_process("inner")
        .start_event("i_s")
        .task("i_t")
        .end_event("i_e")
        .sub_process_done()
        .end_event("o_e")
        .sub_process_done()
        .end_event("e")
        .event_sub_process("esp")
        .start_event("esp_s", signal="stop")
        .end_event("esp_e")
        .sub_process_done()
        .build(validate=False)
    )
    diagram = only_diagram(definitions)
    b = shapes(diagram)
    expanded = {s.element_id for s in diagram.shapes if s.is_expanded}
    assert expanded == {"outer", "inner", "esp"}
    for child in ("o_s", "inner", "o_e"):
        assert inside(b[child], b["outer"])
    for child in ("i_s", "i_t", "i_e"):
        assert inside(b[child], b["inner"])
    assert b["outer"].width > b["inner"].width > 3 * 36
    main_bottom = max(b[i].y + b[i].height for i in ("s", "outer", "e"))
    assert b["esp"].y > main_bottom
    assert inside(b["esp_s"], b["esp"]) and inside(b["esp_e"], b["esp"])
    # containers are listed before their children, so bpmn-js draws children on top
    order = [s.element_id for s in diagram.shapes]
    assert order.index("outer") < order.index("inner") < order.index("i_t")


def two_pools() -> Definitions:
    shop = (
        ProcessBuilder("shop")
        .start_event("order", message="order")
        .user_task("pack")
        .service_task("ship", job_type="ship")
        .end_event("done")
        .lane("front", name="Front", nodes=["order", "pack"])
        .lane("back", name="Back", nodes=["ship", "done"])
        .build_process()
    )
    customer = (
        ProcessBuilder("customer")
        .start_event("want")
        .send_task("buy", job_type="buy")
        .end_event("bought")
        .build_process()
    )
    return Definitions(
        "defs",
        processes=(shop, customer),
        collaboration=Collaboration(
            "collab",
            participants=(
                Participant("P_shop", "Shop", "shop"),
                Participant("P_customer", "Customer", "customer"),
                Participant("P_bank", "Bank"),
            ),
            message_flows=(MessageFlow("mf", "buy", "order"),),
        ),
    )


def test_pools_are_stacked_bands_around_their_process_with_lanes_inside() -> None:
    definitions = two_pools()
    diagram = only_diagram(definitions)
    assert diagram.plane_element_id == "collab"
    b = shapes(diagram)
    pools = [b["P_shop"], b["P_customer"], b["P_bank"]]
    assert all(p.x == pools[0].x and p.width == pools[0].width for p in pools)
    assert pools[0].y + pools[0].height < pools[1].y
    assert pools[1].y + pools[1].height < pools[2].y
    horizontal = {s.element_id for s in diagram.shapes if s.is_horizontal}
    assert horizontal == {"P_shop", "P_customer", "P_bank", "front", "back"}
    for node in ("order", "pack", "ship", "done"):
        assert inside(b[node], b["P_shop"])
    for node in ("want", "buy", "bought"):
        assert inside(b[node], b["P_customer"])
    for node in ("order", "pack"):
        assert inside(b[node], b["front"])
    for node in ("ship", "done"):
        assert inside(b[node], b["back"])
    for lane in ("front", "back"):
        assert inside(b[lane], b["P_shop"])
        assert b[lane].x + b[lane].width == b["P_shop"].x + b["P_shop"].width
    assert b["front"].y + b["front"].height == b["back"].y
    message = edges(diagram)["mf"]
    assert message[0] == Point(center(b["buy"])[0], b["buy"].y)
    assert message[-1] == Point(center(b["order"])[0], b["order"].y + b["order"].height)


def test_layout_is_deterministic_and_never_overlaps() -> None:
    definitions = two_pools()
    first, second = layout_definitions(definitions), layout_definitions(definitions)
    assert first == second
    (diagram,) = first
    nodes = [
        s.bounds
        for s in diagram.shapes
        if s.element_id not in {"P_shop", "P_customer", "P_bank", "front", "back"}
    ]
    for index, a in enumerate(nodes):
        for other in nodes[index + 1 :]:
            assert disjoint(a, other)


def test_processes_without_a_pool_get_their_own_plane() -> None:
    definitions = two_pools()
    assert definitions.collaboration is not None
    loose = replace(
        definitions,
        collaboration=replace(
            definitions.collaboration,
            participants=definitions.collaboration.participants[:1],
            message_flows=(),
        ),
    )
    planes = [d.plane_element_id for d in layout_definitions(loose)]
    assert planes == ["collab", "customer"]


def test_complete_diagrams_keeps_existing_di_and_fills_gaps() -> None:
    definitions = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("t")
        .end_event("e")
        .move_to("t")
        .boundary_event("b", timer_duration="PT1M")
        .end_event("late")
        .build(validate=False)
    )
    own = Diagram(
        "D",
        "p",
        shapes=(
            DiagramShape("s", Bounds(10, 10, 36, 36)),
            DiagramShape("t", Bounds(100, 0, 100, 80)),
            DiagramShape("e", Bounds(300, 10, 36, 36)),
        ),
        edges=(DiagramEdge("Flow_s_t", (Point(46, 28), Point(100, 28))),),
    )
    completed = complete_diagrams(replace(definitions, diagrams=(own,)))
    (diagram,) = completed
    assert diagram.id == "D"
    assert diagram.shapes[:3] == own.shapes and diagram.edges[:1] == own.edges
    b = shapes(diagram)
    assert center(b["b"])[1] == 80  # on the bottom edge of the drawn host
    assert b["late"].y >= 80  # laid out below the existing drawing
    assert set(edges(diagram)) == set(definitions.process().flows)
    # complete DI is returned untouched
    assert complete_diagrams(replace(definitions, diagrams=completed)) == completed
