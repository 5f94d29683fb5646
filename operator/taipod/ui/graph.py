"""The scenario's DAG laid out in layers for drawing: data nodes and tasks alternate top to bottom (a side panel is
narrower than it is tall). Plain Python.

Each node sits in the layer after the deepest node feeding it (longest path from a source), rows within a layer
ordered by the mean row of their parents (one barycentre pass, which untangles most edges) then by name. A task is
coloured by its job's status in the page; tasks without a job (not part of the submission) have none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Layout", "Node", "layout"]

COLUMN_WIDTH = 150  # between nodes of one layer (a node is 130 wide)
ROW_HEIGHT = 56  # between layers (a node is 36 high)
MARGIN = 10


@dataclass(frozen=True)
class Node:
    id: str  # "task:NAME" or "data:NAME"
    kind: str  # "task" or "data"
    label: str
    layer: int
    row: int
    status: str | None = None

    @property
    def x(self) -> int:
        return MARGIN + self.row * COLUMN_WIDTH

    @property
    def y(self) -> int:
        return MARGIN + self.layer * ROW_HEIGHT


@dataclass(frozen=True)
class Layout:
    nodes: list[Node]
    edges: list[tuple[str, str]]

    @property
    def width(self) -> int:
        return 2 * MARGIN + (max((n.row for n in self.nodes), default=0) + 1) * COLUMN_WIDTH

    @property
    def height(self) -> int:
        return 2 * MARGIN + (max((n.layer for n in self.nodes), default=0) + 1) * ROW_HEIGHT

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "nodes": [
                {"id": n.id, "kind": n.kind, "label": n.label, "x": n.x, "y": n.y, "status": n.status}
                for n in self.nodes
            ],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
        }


def layout(tasks: Sequence[Mapping[str, Any]], statuses: Mapping[str, str]) -> Layout:
    """Lay out the tasks of a scenario spec (``name``, ``inputs``, ``outputs``) and the data nodes they use.

    ``statuses`` maps a task name to its job's status. A cyclic spec (refused by the operator as Invalid) still
    gets a layout: nodes on a cycle stop deepening after as many passes as there are nodes.
    """
    parents: dict[str, list[str]] = {}
    order: list[str] = []

    def add(node: str) -> None:
        if node not in parents:
            parents[node] = []
            order.append(node)

    edges: list[tuple[str, str]] = []
    for task in tasks:
        name = f"task:{task['name']}"
        add(name)
        for dn in task.get("inputs") or []:
            add(f"data:{dn}")
            parents[name].append(f"data:{dn}")
            edges.append((f"data:{dn}", name))
        for dn in task.get("outputs") or []:
            add(f"data:{dn}")
            parents[f"data:{dn}"].append(name)
            edges.append((name, f"data:{dn}"))
    layer = dict.fromkeys(order, 0)
    for _ in range(len(order)):
        changed = False
        for node in order:
            deepest = max((layer[p] + 1 for p in parents[node]), default=0)
            if deepest > layer[node] and deepest <= len(order):
                layer[node] = deepest
                changed = True
        if not changed:
            break
    rows: dict[str, int] = {}
    for depth in range(max(layer.values(), default=-1) + 1):
        members = [n for n in order if layer[n] == depth]

        def centre(node: str) -> float:
            placed = [rows[p] for p in parents[node] if p in rows]
            return sum(placed) / len(placed) if placed else 0.0

        members.sort(key=lambda n: (centre(n), n))
        for row, node in enumerate(members):
            rows[node] = row
    nodes = [
        Node(
            node,
            node.split(":", 1)[0],
            node.split(":", 1)[1],
            layer[node],
            rows[node],
            statuses.get(node.split(":", 1)[1]) if node.startswith("task:") else None,
        )
        for node in order
    ]
    return Layout(nodes, list(dict.fromkeys(edges)))
