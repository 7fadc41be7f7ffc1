"""A small layered auto-layout, so models without diagram information can be drawn.

Flow nodes go left to right in columns by their longest path from the start events (cycles
broken at back edges found by a depth-first walk), nodes of one column stack in rows, and a
node prefers the row of its first predecessor, so a straight path stays on one line and each
extra branch of a split takes the next row down. Expanded subprocesses are laid out first and
sized around their children; event subprocesses sit below the flow of their container, text
annotations and data references in a band below that. Boundary events sit on the bottom edge of
their host. Lanes are horizontal bands of rows, pools horizontal bands around their process,
stacked top to bottom. Edges are orthogonal: right-centre of the source to left-centre of the
target with one bend (gateways and boundary events leave downwards or upwards, loops run
underneath).

Everything is deterministic: the same model gives the same diagram.

Entry points: ``layout_definitions`` (a fresh diagram for everything) and ``complete_diagrams``
(keep the model's own DI, add shapes and edges only for what it lacks).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from midflight.model.elements import (
    Artifact,
    Bounds,
    Definitions,
    Diagram,
    DiagramEdge,
    DiagramShape,
    ElementType,
    FlowNode,
    Lane,
    Point,
    Process,
)

__all__ = [
    "ARTIFACT_SHAPE_KINDS",
    "complete_diagrams",
    "layout_definitions",
    "layout_process",
    "node_size",
    "route_sequence_flow",
]

EVENT_SIZE = (36, 36)
TASK_SIZE = (100, 80)
GATEWAY_SIZE = (50, 50)
COLUMN_GAP = 50  # between columns of flow nodes
ROW_GAP = 60  # between rows (leaves room for boundary events and their labels)
CONTAINER_PAD = 30  # around the content of an expanded subprocess
CONTAINER_TOP = 40  # top padding of an expanded subprocess (room for its label)
MIN_CONTAINER = (200, 120)
POOL_LABEL = 30  # the vertical name band of a pool or lane
POOL_PAD = 40  # around the content of a pool or lane group
POOL_GAP = 80  # between pools (room for message flows)
BLACK_BOX_HEIGHT = 60
MIN_LANE_HEIGHT = 120
ORIGIN = (160, 80)  # where the content of a process plane starts
POOL_ORIGIN = (120, 80)
BOUNDARY_GAP = 10

#: Artifact kinds drawn as shapes (associations are edges, data objects are not drawn).
ARTIFACT_SHAPE_KINDS: dict[str, tuple[int, int]] = {
    "textAnnotation": (100, 30),
    "dataObjectReference": (36, 50),
    "dataStoreReference": (50, 50),
    "group": (150, 100),
}

_EVENTS = frozenset(
    {
        ElementType.START_EVENT,
        ElementType.END_EVENT,
        ElementType.INTERMEDIATE_CATCH_EVENT,
        ElementType.INTERMEDIATE_THROW_EVENT,
        ElementType.BOUNDARY_EVENT,
    }
)
_GATEWAYS = frozenset(
    {
        ElementType.EXCLUSIVE_GATEWAY,
        ElementType.PARALLEL_GATEWAY,
        ElementType.INCLUSIVE_GATEWAY,
        ElementType.EVENT_BASED_GATEWAY,
        ElementType.COMPLEX_GATEWAY,
    }
)


def node_size(node: FlowNode, boundary_count: int = 0) -> tuple[int, int]:
    """Standard size of a node that is not an expanded container."""
    if node.type in _EVENTS:
        return EVENT_SIZE
    if node.type in _GATEWAYS:
        return GATEWAY_SIZE
    width, height = TASK_SIZE
    return max(width, boundary_count * (EVENT_SIZE[0] + BOUNDARY_GAP) + BOUNDARY_GAP), height


# -- geometry helpers ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def moved(self, dx: int, dy: int) -> _Box:
        return _Box(self.x + dx, self.y + dy, self.w, self.h)

    def bounds(self) -> Bounds:
        return Bounds(float(self.x), float(self.y), float(self.w), float(self.h))

    @classmethod
    def of(cls, bounds: Bounds) -> _Box:
        return cls(round(bounds.x), round(bounds.y), round(bounds.width), round(bounds.height))


@dataclass(slots=True)
class _Block:
    """A laid-out container: shapes relative to the block's top-left corner."""

    width: int = 0
    height: int = 0
    boxes: dict[str, _Box] = field(default_factory=dict)
    expanded: set[str] = field(default_factory=set)
    lanes: dict[str, _Box] = field(default_factory=dict)

    def place(self, other: _Block, dx: int, dy: int) -> None:
        for key, box in other.boxes.items():
            self.boxes[key] = box.moved(dx, dy)
        for key, box in other.lanes.items():
            self.lanes[key] = box.moved(dx, dy)
        self.expanded |= other.expanded


# -- graph helpers ---------------------------------------------------------------------------
def _forward_edges(
    nodes: Sequence[FlowNode], process: Process
) -> tuple[list[tuple[str, str, bool]], dict[str, int]]:
    """Flows among ``nodes`` as (source, target, from_boundary) with back edges removed.

    A flow leaving a boundary event counts as leaving its host, and so does the association
    from a compensation boundary event to its handler.
    """
    order = {n.id: i for i, n in enumerate(nodes)}
    host_of = {
        n.id: n.attached_to
        for n in process.elements.values()
        if n.type is ElementType.BOUNDARY_EVENT and n.attached_to in order
    }
    edges: list[tuple[str, str, bool]] = []
    for flow in process.flows.values():
        source = host_of.get(flow.source_id, flow.source_id)
        if source in order and flow.target_id in order and source != flow.target_id:
            edges.append((source, flow.target_id, flow.source_id in host_of))
    for event_id, host in host_of.items():  # compensation handlers follow their host
        handler = process.elements[event_id].compensation_handler
        if handler in order and host is not None:
            edges.append((host, handler, True))
    successors: dict[str, list[str]] = {n.id: [] for n in nodes}
    has_incoming: set[str] = set()
    for source, target, _ in edges:
        successors[source].append(target)
        has_incoming.add(target)
    # Depth-first walk from the sources (then from anything left) to find back edges.
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[tuple[str, str]] = set()
    roots = [n.id for n in nodes if n.id not in has_incoming] + [n.id for n in nodes]
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(successors[root]))]
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[current] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((current, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    forward = [e for e in edges if (e[0], e[1]) not in back]
    return forward, order


def _layers(nodes: Sequence[FlowNode], edges: Sequence[tuple[str, str, bool]]) -> dict[str, int]:
    """Longest-path layer of each node over an acyclic edge list."""
    preds: dict[str, list[str]] = {n.id: [] for n in nodes}
    indegree = {n.id: 0 for n in nodes}
    succs: dict[str, list[str]] = {n.id: [] for n in nodes}
    for source, target, _ in edges:
        preds[target].append(source)
        succs[source].append(target)
        indegree[target] += 1
    layer: dict[str, int] = {}
    ready = [n.id for n in nodes if indegree[n.id] == 0]
    while ready:
        current = ready.pop(0)
        layer[current] = max((layer[p] + 1 for p in preds[current]), default=0)
        for nxt in succs[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return layer


def _leaf_lanes(lanes: Sequence[Lane]) -> list[Lane]:
    leaves: list[Lane] = []
    for lane in lanes:
        leaves.extend(_leaf_lanes(lane.child_lanes) if lane.child_lanes else [lane])
    return leaves


def _lane_depth(lanes: Sequence[Lane]) -> int:
    return max((1 + _lane_depth(lane.child_lanes) for lane in lanes), default=0)


# -- container layout ------------------------------------------------------------------------
def _layout_container(process: Process, container_id: str | None, with_lanes: bool) -> _Block:
    """Lay out the children of a container (``None`` = the process) at the origin."""
    children = process.children_of(container_id)
    main = [
        n
        for n in children
        if n.type not in (ElementType.BOUNDARY_EVENT, ElementType.EVENT_SUB_PROCESS)
    ]
    event_subs = [n for n in children if n.type is ElementType.EVENT_SUB_PROCESS]
    block = _Block()
    sizes: dict[str, tuple[int, int]] = {}
    inner: dict[str, _Block] = {}
    for node in [*main, *event_subs]:
        if node.is_scope_container:
            inner[node.id] = child = _layout_container(process, node.id, False)
            sizes[node.id] = (
                max(
                    MIN_CONTAINER[0],
                    child.width + 2 * CONTAINER_PAD,
                    node_size(node, len(process.boundary_events(node.id)))[0],
                ),
                max(MIN_CONTAINER[1], child.height + CONTAINER_TOP + CONTAINER_PAD),
            )
        else:
            sizes[node.id] = node_size(node, len(process.boundary_events(node.id)))

    edges, order = _forward_edges(main, process)
    layer = _layers(main, edges)

    # Lane groups: rows are numbered within each group; the groups stack top to bottom.
    leaves = _leaf_lanes(process.lanes) if with_lanes and container_id is None else []
    group_of: dict[str, int] = {}
    for index, lane in enumerate(leaves):
        for ref in lane.flow_node_refs:
            group_of.setdefault(ref, index)
    free_group = len(leaves)

    preds: dict[str, list[tuple[str, bool]]] = {n.id: [] for n in main}
    for source, target, from_boundary in edges:
        preds[target].append((source, from_boundary))
    row: dict[str, int] = {}
    used: set[tuple[int, int, int]] = set()  # (group, layer, row)
    by_layer = sorted(main, key=lambda n: (layer[n.id], order[n.id]))
    for node in by_layer:
        group = group_of.get(node.id, free_group)
        wishes = [
            row[p] + (1 if from_boundary else 0)
            for p, from_boundary in preds[node.id]
            if group_of.get(p, free_group) == group
        ]
        wanted = min(wishes, default=0)
        while (group, layer[node.id], wanted) in used:
            wanted += 1
        used.add((group, layer[node.id], wanted))
        row[node.id] = wanted

    # Column widths and row heights.
    columns = max(layer.values(), default=-1) + 1
    col_width = [0] * columns
    row_height: dict[tuple[int, int], int] = {}
    for node in main:
        width, height = sizes[node.id]
        col_width[layer[node.id]] = max(col_width[layer[node.id]], width)
        key = (group_of.get(node.id, free_group), row[node.id])
        row_height[key] = max(row_height.get(key, 0), height)
    col_x: list[int] = []
    x = 0
    for width in col_width:
        col_x.append(x)
        x += width + COLUMN_GAP
    grid_width = max(0, x - COLUMN_GAP)

    # Row tops, group by group.
    row_top: dict[tuple[int, int], int] = {}
    y = 0
    lane_pad = POOL_PAD if leaves else 0
    group_span: dict[int, tuple[int, int]] = {}
    for group in range(free_group + 1):
        rows = sorted(r for g, r in row_height if g == group)
        if not rows and group == free_group:
            continue
        top = y
        y += lane_pad
        for r in range(rows[-1] + 1 if rows else 0):
            row_top[(group, r)] = y
            y += row_height.get((group, r), 0) + ROW_GAP
        if rows:
            y -= ROW_GAP
        y += lane_pad
        if leaves and group < free_group:
            y = max(y, top + MIN_LANE_HEIGHT)
        group_span[group] = (top, y)
        if group < free_group or rows:
            y += 0 if leaves else ROW_GAP
    grid_height = y if leaves else max(0, y - ROW_GAP)

    for node in main:
        width, height = sizes[node.id]
        key = (group_of.get(node.id, free_group), row[node.id])
        column = layer[node.id]
        box = _Box(
            col_x[column] + (col_width[column] - width) // 2,
            row_top[key] + (row_height[key] - height) // 2,
            width,
            height,
        )
        block.boxes[node.id] = box
    block.width, block.height = grid_width, grid_height

    # Event subprocesses below the flow, left to right.
    y = block.height + ROW_GAP if main else 0
    x = 0
    tallest = 0
    for node in event_subs:
        width, height = sizes[node.id]
        block.boxes[node.id] = _Box(x, y, width, height)
        x += width + COLUMN_GAP
        tallest = max(tallest, height)
    if event_subs:
        block.width = max(block.width, x - COLUMN_GAP)
        block.height = y + tallest

    # Expanded containers: their children inside.
    for node_id, child in inner.items():
        box = block.boxes[node_id]
        block.place(child, box.x + CONTAINER_PAD, box.y + CONTAINER_TOP)
        block.expanded.add(node_id)

    # Boundary events on the bottom edge of their host.
    for node in main:
        host = block.boxes[node.id]
        for index, event in enumerate(process.boundary_events(node.id)):
            block.boxes[event.id] = boundary_box(host, index, len(process.boundary_events(node.id)))

    # Artifacts drawn as shapes, in a band below.
    artifacts = [
        a
        for a in process.artifacts
        if a.parent_id == container_id and a.kind in ARTIFACT_SHAPE_KINDS
    ]
    if artifacts:
        y = block.height + ROW_GAP if block.boxes else 0
        x = 0
        tallest = 0
        for artifact in artifacts:
            width, height = ARTIFACT_SHAPE_KINDS[artifact.kind]
            block.boxes[artifact.id] = _Box(x, y, width, height)
            x += width + COLUMN_GAP
            tallest = max(tallest, height)
        block.width = max(block.width, x - COLUMN_GAP)
        block.height = y + tallest

    # Lane bands (relative: x from 0, the caller widens them to the pool).
    for index, lane in enumerate(leaves):
        top, bottom = group_span.get(index, (0, MIN_LANE_HEIGHT))
        block.lanes[lane.id] = _Box(0, top, 0, bottom - top)
    return block


def boundary_box(host: _Box, index: int, count: int) -> _Box:
    """Where the ``index``-th of ``count`` boundary events sits on the host's bottom edge."""
    width, height = EVENT_SIZE
    total = count * width + (count - 1) * BOUNDARY_GAP
    left = host.x + (host.w - total) // 2 + index * (width + BOUNDARY_GAP)
    return _Box(left, host.bottom - height // 2, width, height)


def _parent_lane_boxes(lanes: Sequence[Lane], leaf_boxes: dict[str, _Box]) -> dict[str, _Box]:
    """Boxes of every lane: a parent lane spans its children."""
    result: dict[str, _Box] = {}

    def visit(lane: Lane) -> _Box | None:
        if not lane.child_lanes:
            box = leaf_boxes.get(lane.id)
        else:
            parts = [b for b in (visit(c) for c in lane.child_lanes) if b is not None]
            box = None
            if parts:
                top = min(b.y for b in parts)
                box = _Box(0, top, 0, max(b.bottom for b in parts) - top)
        if box is not None:
            result[lane.id] = box
        return box

    for lane in lanes:
        visit(lane)
    return result


def _lane_level(lanes: Sequence[Lane], depth: int = 0) -> Iterator[tuple[Lane, int]]:
    for lane in lanes:
        yield lane, depth
        yield from _lane_level(lane.child_lanes, depth + 1)


# -- routing ---------------------------------------------------------------------------------
def _p(x: float, y: float) -> Point:
    return Point(float(x), float(y))


def route_sequence_flow(
    source: Bounds,
    target: Bounds,
    source_type: ElementType | None = None,
    target_type: ElementType | None = None,
) -> tuple[Point, ...]:
    """Orthogonal waypoints from ``source`` to ``target``."""
    s, t = _Box.of(source), _Box.of(target)
    if t.x >= s.right or (source_type is ElementType.BOUNDARY_EVENT and t.x >= s.cx):
        if source_type is ElementType.BOUNDARY_EVENT:
            if t.cy > s.bottom:
                return (_p(s.cx, s.bottom), _p(s.cx, t.cy), _p(t.x, t.cy))
            low = s.bottom + 20
            mid = t.x - COLUMN_GAP // 2
            return (
                _p(s.cx, s.bottom),
                _p(s.cx, low),
                _p(mid, low),
                _p(mid, t.cy),
                _p(t.x, t.cy),
            )
        if abs(s.cy - t.cy) < 1:
            return (_p(s.right, s.cy), _p(t.x, s.cy))
        if source_type in _GATEWAYS:
            start_y = s.bottom if t.cy > s.cy else s.y
            return (_p(s.cx, start_y), _p(s.cx, t.cy), _p(t.x, t.cy))
        if target_type in _GATEWAYS:
            end_y = t.bottom if s.cy > t.cy else t.y
            return (_p(s.right, s.cy), _p(t.cx, s.cy), _p(t.cx, end_y))
        mid = t.x - COLUMN_GAP // 2
        return (_p(s.right, s.cy), _p(mid, s.cy), _p(mid, t.cy), _p(t.x, t.cy))
    # Backwards: loop underneath both shapes.
    low = max(s.bottom, t.bottom) + 20
    return (_p(s.cx, s.bottom), _p(s.cx, low), _p(t.cx, low), _p(t.cx, t.bottom))


def _route_vertical(source: Bounds, target: Bounds) -> tuple[Point, ...]:
    """Message flows and associations: leave the facing side, bend once at half height."""
    s, t = _Box.of(source), _Box.of(target)
    if t.y >= s.bottom:
        start, end = s.bottom, t.y
    elif s.y >= t.bottom:
        start, end = s.y, t.bottom
    else:
        return (_p(s.cx, s.cy), _p(t.cx, t.cy))
    if abs(s.cx - t.cx) < 1:
        return (_p(s.cx, start), _p(t.cx, end))
    mid = (start + end) / 2
    return (_p(s.cx, start), _p(s.cx, mid), _p(t.cx, mid), _p(t.cx, end))


# -- whole models ----------------------------------------------------------------------------
@dataclass(slots=True)
class _Plane:
    boxes: dict[str, _Box] = field(default_factory=dict)
    expanded: set[str] = field(default_factory=set)
    horizontal: set[str] = field(default_factory=set)

    def absorb(self, block: _Block, dx: int, dy: int) -> None:
        for key, box in block.boxes.items():
            self.boxes[key] = box.moved(dx, dy)
        self.expanded |= block.expanded


def layout_process(process: Process) -> Diagram:
    """A diagram of one process on its own plane (lanes drawn without a pool)."""
    plane = _Plane()
    _place_process(plane, process, ORIGIN[0], ORIGIN[1], None)
    return _diagram(f"BPMNDiagram_{process.id}", process.id, plane, [process], None)


def _place_process(
    plane: _Plane, process: Process, x: int, y: int, width: int | None
) -> tuple[int, int]:
    """Put the process content at (x, y); lanes start at x. Returns the used width, height."""
    block = _layout_container(process, None, True)
    depth = _lane_depth(process.lanes)
    content_x = x + depth * POOL_LABEL + (POOL_PAD if depth else 0)
    plane.absorb(block, content_x, y)
    used_width = content_x - x + block.width + (POOL_PAD if depth else 0)
    full_width = max(width or 0, used_width)
    lane_boxes = _parent_lane_boxes(process.lanes, block.lanes)
    for lane, level in _lane_level(process.lanes):
        box = lane_boxes.get(lane.id)
        if box is not None:
            left = x + level * POOL_LABEL
            plane.boxes[lane.id] = _Box(left, y + box.y, x + full_width - left, box.h)
            plane.horizontal.add(lane.id)
    return used_width, block.height


def layout_definitions(definitions: Definitions) -> tuple[Diagram, ...]:
    """Fresh diagrams for a whole model: one collaboration plane with its pools (when there is
    a collaboration) and one plane per process not drawn in a pool."""
    diagrams: list[Diagram] = []
    in_pools: set[str] = set()
    collaboration = definitions.collaboration
    if collaboration is not None:
        plane = _Plane()
        processes = {p.id: p for p in definitions.processes}
        y = POOL_ORIGIN[1]
        pools: list[tuple[str, int, int, int]] = []  # (participant, y, height, content width)
        inner_x = POOL_ORIGIN[0] + POOL_LABEL
        for participant in collaboration.participants:
            process = processes.get(participant.process_ref or "")
            if process is None or process.id in in_pools:
                pools.append((participant.id, y, BLACK_BOX_HEIGHT, 0))
                y += BLACK_BOX_HEIGHT + POOL_GAP
                continue
            in_pools.add(process.id)
            pad = 0 if process.lanes else POOL_PAD
            width, height = _place_process(plane, process, inner_x + pad, y + pad, None)
            pools.append((participant.id, y, height + 2 * pad, width + 2 * pad))
            y += height + 2 * pad + POOL_GAP
        pool_width = POOL_LABEL + max((p[3] for p in pools), default=0)
        pool_width = max(pool_width, 600)
        for participant_id, top, height, _ in pools:
            plane.boxes[participant_id] = _Box(POOL_ORIGIN[0], top, pool_width, height)
            plane.horizontal.add(participant_id)
        # Lanes reach the right edge of their pool.
        right = POOL_ORIGIN[0] + pool_width
        for process in definitions.processes:
            if process.id in in_pools:
                for lane, _ in _lane_level(process.lanes):
                    box = plane.boxes.get(lane.id)
                    if box is not None:
                        plane.boxes[lane.id] = _Box(box.x, box.y, right - box.x, box.h)
        _place_artifacts(plane, collaboration.artifacts, y)
        drawn = [p for p in definitions.processes if p.id in in_pools]
        diagrams.append(_diagram("BPMNDiagram_1", collaboration.id, plane, drawn, definitions))
    for process in definitions.processes:
        if process.id not in in_pools:
            diagram = layout_process(process)
            if not diagrams:
                diagram = Diagram(
                    "BPMNDiagram_1", diagram.plane_element_id, diagram.shapes, diagram.edges
                )
            diagrams.append(diagram)
    return tuple(diagrams)


def _place_artifacts(plane: _Plane, artifacts: Iterable[Artifact], y: int) -> None:
    x = POOL_ORIGIN[0]
    for artifact in artifacts:
        size = ARTIFACT_SHAPE_KINDS.get(artifact.kind)
        if size is not None:
            plane.boxes[artifact.id] = _Box(x, y, size[0], size[1])
            x += size[0] + COLUMN_GAP


def _diagram(
    diagram_id: str,
    plane_element: str,
    plane: _Plane,
    processes: Sequence[Process],
    definitions: Definitions | None,
) -> Diagram:
    order = _drawing_order(processes, definitions)
    shapes = [
        DiagramShape(
            element_id,
            plane.boxes[element_id].bounds(),
            is_expanded=True if element_id in plane.expanded else None,
            is_horizontal=True if element_id in plane.horizontal else None,
        )
        for element_id in order
        if element_id in plane.boxes
    ]
    bounds = {key: box.bounds() for key, box in plane.boxes.items()}
    edges = list(_edges(processes, definitions, bounds, set()))
    return Diagram(diagram_id, plane_element, tuple(shapes), tuple(edges))


def _drawing_order(processes: Sequence[Process], definitions: Definitions | None) -> list[str]:
    """Pools, lanes, then nodes (containers before their children), then artifacts."""
    order: list[str] = []
    if definitions is not None and definitions.collaboration is not None:
        order.extend(p.id for p in definitions.collaboration.participants)
    for process in processes:
        order.extend(lane.id for lane, _ in _lane_level(process.lanes))
    for process in processes:
        order.extend(_nodes_top_down(process, None))
        order.extend(a.id for a in process.artifacts)
    if definitions is not None and definitions.collaboration is not None:
        order.extend(a.id for a in definitions.collaboration.artifacts)
    return order


def _nodes_top_down(process: Process, container_id: str | None) -> Iterator[str]:
    for node in process.children_of(container_id):
        yield node.id
        if node.is_scope_container:
            yield from _nodes_top_down(process, node.id)


def _edges(
    processes: Sequence[Process],
    definitions: Definitions | None,
    bounds: dict[str, Bounds],
    skip: set[str],
) -> Iterator[DiagramEdge]:
    """Edges for every flow, association and message flow whose ends have bounds."""
    for process in processes:
        for flow in process.flows.values():
            if flow.id in skip or flow.source_id not in bounds or flow.target_id not in bounds:
                continue
            source, target = (
                process.elements.get(flow.source_id),
                process.elements.get(flow.target_id),
            )
            yield DiagramEdge(
                flow.id,
                route_sequence_flow(
                    bounds[flow.source_id],
                    bounds[flow.target_id],
                    source.type if source else None,
                    target.type if target else None,
                ),
            )
        yield from _association_edges(process.artifacts, bounds, skip)
    if definitions is not None and definitions.collaboration is not None:
        collaboration = definitions.collaboration
        for message_flow in collaboration.message_flows:
            ends = (message_flow.source_ref, message_flow.target_ref)
            if message_flow.id not in skip and all(e in bounds for e in ends):
                yield DiagramEdge(
                    message_flow.id, _route_vertical(bounds[ends[0]], bounds[ends[1]])
                )
        yield from _association_edges(collaboration.artifacts, bounds, skip)


def _association_edges(
    artifacts: Iterable[Artifact], bounds: dict[str, Bounds], skip: set[str]
) -> Iterator[DiagramEdge]:
    for artifact in artifacts:
        if artifact.kind != "association" or artifact.id in skip:
            continue
        ends = (artifact.source_ref or "", artifact.target_ref or "")
        if all(e in bounds for e in ends):
            yield DiagramEdge(artifact.id, _route_vertical(bounds[ends[0]], bounds[ends[1]]))


# -- completing a model's own DI -------------------------------------------------------------
def _shape_ids(definitions: Definitions) -> list[str]:
    """Every element that needs a shape, in drawing order."""
    processes = list(definitions.processes)
    return _drawing_order(processes, definitions)


def _edge_ids(definitions: Definitions) -> set[str]:
    ids: set[str] = set()
    for process in definitions.processes:
        ids.update(process.flows)
        ids.update(a.id for a in process.artifacts if a.kind == "association")
    if definitions.collaboration is not None:
        ids.update(f.id for f in definitions.collaboration.message_flows)
        ids.update(a.id for a in definitions.collaboration.artifacts if a.kind == "association")
    return ids


def complete_diagrams(definitions: Definitions) -> tuple[Diagram, ...]:
    """The model's diagrams with shapes and edges added for whatever they do not draw.

    A model without any DI gets ``layout_definitions``. Otherwise the existing DI is kept as is;
    missing boundary events go onto their host's bottom edge, other missing shapes are laid out
    automatically and placed below the existing drawing (so nothing overlaps), and missing
    edges are routed between the final shapes.
    """
    if not definitions.diagrams:
        return layout_definitions(definitions)
    existing: dict[str, Bounds] = {}
    drawn_edges: set[str] = set()
    for diagram in definitions.diagrams:
        existing.update((s.element_id, s.bounds) for s in diagram.shapes)
        drawn_edges.update(e.element_id for e in diagram.edges)
    wanted = [i for i in _shape_ids(definitions) if i not in existing]
    missing_edges = _edge_ids(definitions) - drawn_edges
    if not wanted and not missing_edges:
        return definitions.diagrams

    auto: dict[str, DiagramShape] = {}
    for diagram in layout_definitions(definitions):
        auto.update((s.element_id, s) for s in diagram.shapes)
    boxes = {key: _Box.of(b) for key, b in existing.items()}
    added: dict[str, DiagramShape] = {}
    nodes = {n.id: n for p in definitions.processes for n in p.elements.values()}
    # Boundary events of drawn hosts go on the host.
    for element_id in list(wanted):
        node = nodes.get(element_id)
        if node is None or node.attached_to not in boxes:
            continue
        host = boxes[node.attached_to]
        siblings = [n.id for n in nodes.values() if n.attached_to == node.attached_to]
        box = boundary_box(host, siblings.index(element_id), len(siblings))
        added[element_id] = DiagramShape(element_id, box.bounds())
        wanted.remove(element_id)
    # Everything else: the automatic layout, moved below the existing drawing.
    rest = [auto[i] for i in wanted if i in auto]
    if rest:
        floor = max((b.bottom for b in boxes.values()), default=0) + POOL_GAP
        left = min((b.x for b in boxes.values()), default=ORIGIN[0])
        top = min(round(s.bounds.y) for s in rest)
        start = min(round(s.bounds.x) for s in rest)
        for shape in rest:
            box = _Box.of(shape.bounds).moved(left - start, floor - top)
            added[shape.element_id] = DiagramShape(
                shape.element_id, box.bounds(), shape.is_expanded, shape.is_horizontal
            )
    final = dict(existing)
    final.update((key, s.bounds) for key, s in added.items())
    new_edges = [
        e
        for e in _edges(list(definitions.processes), definitions, final, set())
        if e.element_id in missing_edges
    ]
    return _distribute(definitions, added, new_edges)


def _distribute(
    definitions: Definitions, shapes: dict[str, DiagramShape], edges: list[DiagramEdge]
) -> tuple[Diagram, ...]:
    """Add new shapes and edges to the diagram showing their process (else the first one)."""
    owner: dict[str, str] = {}
    collaboration = definitions.collaboration
    pooled = (
        {p.process_ref: collaboration.id for p in collaboration.participants if p.process_ref}
        if collaboration is not None
        else {}
    )
    for process in definitions.processes:
        plane = pooled.get(process.id, process.id)
        for key in (
            *process.elements,
            *process.flows,
            *(a.id for a in process.artifacts),
            *(lane.id for lane, _ in _lane_level(process.lanes)),
        ):
            owner[key] = plane
    planes = [d.plane_element_id for d in definitions.diagrams]
    result: list[Diagram] = []
    for index, diagram in enumerate(definitions.diagrams):

        def mine(element_id: str, index: int = index) -> bool:
            plane = owner.get(element_id, collaboration.id if collaboration else "")
            return (planes.index(plane) if plane in planes else 0) == index

        extra_shapes = tuple(s for key, s in shapes.items() if mine(key))
        extra_edges = tuple(e for e in edges if mine(e.element_id))
        result.append(
            Diagram(
                diagram.id,
                diagram.plane_element_id,
                diagram.shapes + extra_shapes,
                diagram.edges + extra_edges,
            )
        )
    return tuple(result)
