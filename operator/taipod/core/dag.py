"""The scenario's task graph: definitions, validation and execution order.

The graph is Taipy's bipartite DAG (semantics.md §4.2, §10): an edge from each input data node to its task and from
each task to each of its outputs. ``build_dag`` validates a scenario spec and reports *every* problem at once, each
with the path of the offending field in the Kubernetes manifest (``spec.tasks[1].inputs[0]``), so that
``kubectl apply`` users get one clear answer. All algorithms are linear in the size of the graph: a scenario may hold
5,000 tasks (decisions, "Entities and where state lives").
"""

from __future__ import annotations

import builtins
import datetime
import difflib
import keyword
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from taipod.core.status import Scope

__all__ = [
    "MAX_NAME_LENGTH",
    "STORAGE_TYPES",
    "Dag",
    "DataNodeDef",
    "FunctionRef",
    "SequenceDef",
    "SpecError",
    "SpecErrors",
    "TaskDef",
    "build_dag",
    "parse_function_ref",
]

STORAGE_TYPES = frozenset({"pickle", "json", "csv", "parquet"})
"""The storage types the runner supports (decisions, "Data nodes"); anything else is rejected at creation."""

MAX_NAME_LENGTH = 50
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_Node = tuple[bool, str]  # a node of the bipartite graph: (is_task, name)


@dataclass(frozen=True)
class DataNodeDef:
    """A data node of the scenario spec (``spec.dataNodes[i]``)."""

    name: str
    storage_type: str = "pickle"
    scope: Scope = Scope.SCENARIO
    validity_period: datetime.timedelta | None = None
    has_default_data: bool = False


@dataclass(frozen=True)
class TaskDef:
    """A task of the scenario spec (``spec.tasks[i]``); inputs/outputs order the function's arguments/results."""

    name: str
    function: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    skippable: bool = False


@dataclass(frozen=True)
class SequenceDef:
    """A named subset of the scenario's tasks (``spec.sequences[i]``); it must be weakly connected (§1)."""

    name: str
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class FunctionRef:
    """A task function, importable as ``from module import qualname`` (dotted qualname) in the task image."""

    module: str
    qualname: str

    def __str__(self) -> str:
        return f"{self.module}:{self.qualname}"


class SpecError(ValueError):
    """One problem in a scenario spec, located by the path of a manifest field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[SpecError], tuple[str, str]]:
        return (type(self), (self.field, self.message))


class SpecErrors(ValueError):
    """Every problem found in a scenario spec."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors: list[SpecError] = list(errors)

    def __reduce__(self) -> tuple[type[SpecErrors], tuple[list[SpecError]]]:
        return (type(self), (self.errors,))


def _is_dotted_identifier(text: str) -> bool:
    parts = text.split(".")
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in parts)


def parse_function_ref(text: str, field: str = "function") -> FunctionRef:
    """Parse ``"module.sub:Qual.name"`` or the bare name of a builtin callable (``"print"``, ``"len"``).

    Raises ``SpecError`` for ``field`` otherwise. Only the syntax is checked here: whether the module is importable
    is only known inside the task image (decisions, "Task functions").
    """
    module, sep, qualname = text.partition(":")
    if sep:
        if _is_dotted_identifier(module) and _is_dotted_identifier(qualname):
            return FunctionRef(module, qualname)
    elif _is_dotted_identifier(text) and "." not in text:
        if callable(getattr(builtins, text, None)):
            return FunctionRef("builtins", text)
        raise SpecError(
            field,
            f"{text!r} is not a builtin function; name a function as 'module:qualname' "
            "(for example 'my_package.tasks:double'), importable in the task image",
        )
    raise SpecError(
        field,
        f"malformed function reference {text!r}; name a function as 'module:qualname' "
        "(for example 'my_package.tasks:double') or a builtin such as 'print'",
    )


def _name_problem(kind: str, name: str) -> str | None:
    if _NAME_RE.fullmatch(name) and len(name) <= MAX_NAME_LENGTH:
        return None
    return (
        f"invalid {kind} name {name!r}: use a Python identifier (letters, digits and underscores, "
        f"not starting with a digit) of at most {MAX_NAME_LENGTH} characters"
    )


def _known_list(names: Iterable[str], limit: int = 20) -> str:
    known = sorted(names)
    if not known:
        return "none"
    shown = ", ".join(known[:limit])
    return shown if len(known) <= limit else f"{shown} and {len(known) - limit} more"


class _UnknownDataNodes:
    """Messages for references to undeclared data nodes.

    Spelling hints use difflib, which is slow on large inputs: they are only offered among a modest number of known
    names and for the first few unknown references, so that a broken 5,000-task spec is still rejected quickly.
    """

    KNOWN_LIMIT = 200
    HINT_BUDGET = 20

    def __init__(self, known: Mapping[str, int]) -> None:
        self._known = known
        self._known_text = _known_list(known)
        self._budget = self.HINT_BUDGET if len(known) <= self.KNOWN_LIMIT else 0

    def message(self, task: str, verb: str, name: str) -> str:
        hint = ""
        if self._budget > 0:
            self._budget -= 1
            close = difflib.get_close_matches(name, self._known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"task {task!r} {verb} unknown data node {name!r}{hint}; known data nodes: {self._known_text}; "
            "declare it under spec.dataNodes"
        )


def _check_names(kind: str, path: str, names: Sequence[str], errors: list[SpecError]) -> dict[str, int]:
    """Report invalid and duplicate names; return the index of the first declaration of each name."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        field = f"{path}[{i}].name"
        problem = _name_problem(kind, name)
        if problem:
            errors.append(SpecError(field, problem))
        if name in first:
            errors.append(
                SpecError(field, f"duplicate {kind} name {name!r} (already {path}[{first[name]}]); rename one of them")
            )
        else:
            first[name] = i
    return first


def _check_data_node(i: int, dn: DataNodeDef, errors: list[SpecError]) -> None:
    if dn.storage_type not in STORAGE_TYPES:
        errors.append(
            SpecError(
                f"spec.dataNodes[{i}].storageType",
                f"unknown storage type {dn.storage_type!r} for data node {dn.name!r}; "
                f"use one of: {', '.join(sorted(STORAGE_TYPES))}",
            )
        )
    if dn.validity_period is not None and dn.validity_period < datetime.timedelta(0):
        errors.append(
            SpecError(
                f"spec.dataNodes[{i}].validityPeriod",
                f"negative validity period {dn.validity_period} for data node {dn.name!r}; "
                "use a duration of zero or more, or omit it (always valid once written)",
            )
        )


def _check_task_edges(
    i: int, task: TaskDef, dn_index: Mapping[str, int], unknown: _UnknownDataNodes, errors: list[SpecError]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Report bad inputs/outputs of task ``i``; return its valid (known, unique, non-looping) inputs and outputs."""
    outputs: dict[str, None] = {}  # ordered sets: a fan-in task may have thousands of inputs
    for j, name in enumerate(task.outputs):
        field = f"spec.tasks[{i}].outputs[{j}]"
        if name not in dn_index:
            errors.append(SpecError(field, unknown.message(task.name, "writes", name)))
        elif name in outputs:
            errors.append(SpecError(field, f"data node {name!r} is listed twice in the outputs of task {task.name!r}"))
        else:
            outputs[name] = None
    inputs: dict[str, None] = {}
    for j, name in enumerate(task.inputs):
        field = f"spec.tasks[{i}].inputs[{j}]"
        if name not in dn_index:
            errors.append(SpecError(field, unknown.message(task.name, "reads", name)))
        elif name in inputs:
            errors.append(SpecError(field, f"data node {name!r} is listed twice in the inputs of task {task.name!r}"))
        elif name in outputs:
            errors.append(
                SpecError(
                    field,
                    f"data node {name!r} is both an input and an output of task {task.name!r}; a task cannot read "
                    "the data node it writes (that is a cycle): write the result to another data node",
                )
            )
        else:
            inputs[name] = None
    return tuple(inputs), tuple(outputs)


@dataclass(frozen=True)
class _Graph:
    """Adjacency of the bipartite graph, in declaration order."""

    task_order: Mapping[str, int]
    inputs: Mapping[str, tuple[str, ...]]
    outputs: Mapping[str, tuple[str, ...]]
    producers: Mapping[str, tuple[str, ...]]
    consumers: Mapping[str, tuple[str, ...]]


def _make_graph(data_nodes: Iterable[str], edges: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> _Graph:
    producers: dict[str, list[str]] = {dn: [] for dn in data_nodes}
    consumers: dict[str, list[str]] = {dn: [] for dn in data_nodes}
    for task, ins, outs in edges:
        for dn in ins:
            consumers[dn].append(task)
        for dn in outs:
            producers[dn].append(task)
    return _Graph(
        task_order={task: k for k, (task, _, _) in enumerate(edges)},
        inputs={task: ins for task, ins, _ in edges},
        outputs={task: outs for task, _, outs in edges},
        producers={dn: tuple(ts) for dn, ts in producers.items()},
        consumers={dn: tuple(ts) for dn, ts in consumers.items()},
    )


def _generations(graph: _Graph, tasks: Iterable[str]) -> list[list[str]]:
    """Kahn's algorithm over the bipartite sub-graph of ``tasks``, yielding Taipy's task levels (§4.2).

    Taipy removes the source data nodes (no producer in the sub-graph) and keeps the topological generations that
    contain tasks. As the graph is bipartite, a task's generation is 0 if none of its inputs is produced in the
    sub-graph, else two more than that of the latest producer of its inputs: the task levels are therefore exactly
    "a task runs one level after the last producer of its inputs", which is what this computes. Tasks on a cycle never
    reach in-degree zero and are left out (``build_dag`` uses that to detect cycles).
    """
    subset = set(tasks)
    missing_producers: dict[str, int] = {}  # data node -> producers in the sub-graph not yet placed
    for task in subset:
        for dn in graph.outputs[task]:
            missing_producers[dn] = missing_producers.get(dn, 0) + 1
    unready_inputs = {task: sum(1 for dn in graph.inputs[task] if dn in missing_producers) for task in subset}
    level = sorted(task for task, n in unready_inputs.items() if n == 0)
    levels: list[list[str]] = []
    while level:
        levels.append(level)
        following: list[str] = []
        for task in level:
            for dn in graph.outputs[task]:
                missing_producers[dn] -= 1
                if missing_producers[dn]:
                    continue
                for consumer in graph.consumers[dn]:
                    if consumer in subset:
                        unready_inputs[consumer] -= 1
                        if unready_inputs[consumer] == 0:
                            following.append(consumer)
        level = sorted(following)
    return levels


def _find_cycles(graph: _Graph, remaining: set[str]) -> list[list[tuple[str, str]]]:
    """One cycle per strongly connected component of the tasks Kahn's algorithm could not place.

    Each cycle is a list of (task, data node it writes that the next task reads), starting at the task declared
    first. Tarjan's algorithm (iterative) on the bipartite graph keeps this linear even around a data node with many
    producers and consumers.
    """

    def successors(node: _Node) -> Iterator[_Node]:
        is_task, name = node
        if is_task:
            return ((False, dn) for dn in graph.outputs[name])
        return ((True, t) for t in graph.consumers[name] if t in remaining)

    index: dict[_Node, int] = {}
    low: dict[_Node, int] = {}
    on_stack: set[_Node] = set()
    stack: list[_Node] = []
    work: list[tuple[_Node, Iterator[_Node]]] = []
    components: list[list[_Node]] = []

    def visit(node: _Node) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, successors(node)))

    for root in sorted(remaining, key=graph.task_order.__getitem__):
        if (True, root) in index:
            continue
        visit((True, root))
        while work:
            node, succ = work[-1]
            child = next(succ, None)
            if child is not None:
                if child not in index:
                    visit(child)
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[_Node] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)

    cycles = [_cycle_in_component(graph, {name for is_task, name in c if is_task}) for c in components]
    cycles.sort(key=lambda cycle: graph.task_order[cycle[0][0]])
    return cycles


def _cycle_in_component(graph: _Graph, tasks: set[str]) -> list[tuple[str, str]]:
    """Walk backwards (task <- data node <- producer) inside a strongly connected set of tasks until a task repeats."""
    start = min(tasks, key=graph.task_order.__getitem__)
    walk: list[tuple[str, str]] = []  # (producer, data node), each step going backwards from the current task
    seen: dict[str, int] = {}
    task = start
    while task not in seen:
        seen[task] = len(walk)
        dn, producer = next(
            (dn, p) for dn in graph.inputs[task] for p in graph.producers[dn] if p in tasks
        )  # exists: every task of a strongly connected component has a predecessor inside it
        walk.append((producer, dn))
        task = producer
    # walk[seen[task]:] leads backwards from `task` around the cycle to `task` again; reverse it.
    steps = walk[seen[task] :]
    forward = [(producer, dn) for producer, dn in reversed(steps)]
    first = min(range(len(forward)), key=lambda k: graph.task_order[forward[k][0]])
    return forward[first:] + forward[:first]


_CYCLE_SHOWN = 20  # steps of a cycle spelled out in the message; keeps the error readable and small


def _cycle_message(cycle: list[tuple[str, str]]) -> str:
    steps = "".join(f"{task} -[{dn}]-> " for task, dn in cycle[:_CYCLE_SHOWN])
    if len(cycle) > _CYCLE_SHOWN:
        steps += f"... ({len(cycle) - _CYCLE_SHOWN} more tasks) -> "
    return (
        f"the tasks form a cycle: {steps}{cycle[0][0]} (each arrow is a data node written by one task and read by "
        "the next); a task cannot depend on its own outputs, even indirectly: remove one of these inputs or outputs"
    )


def _components(graph: _Graph, tasks: Sequence[str]) -> list[list[str]]:
    """Weakly connected components of ``tasks`` through the data nodes they share (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for task in tasks:
        for dn in (*graph.inputs[task], *graph.outputs[task]):
            parent[find("t:" + task)] = find("d:" + dn)
    groups: dict[str, list[str]] = {}
    for task in tasks:
        groups.setdefault(find("t:" + task), []).append(task)
    return list(groups.values())


def _check_sequences(
    sequences: Sequence[SequenceDef],
    graph: _Graph,
    task_index: Mapping[str, int],
    incomplete: set[str],
    errors: list[SpecError],
) -> None:
    known_tasks: str | None = None
    for i, seq in enumerate(sequences):
        members: dict[str, None] = {}  # an ordered set
        complete = True
        for j, name in enumerate(seq.tasks):
            field = f"spec.sequences[{i}].tasks[{j}]"
            if name not in task_index:
                complete = False
                known_tasks = known_tasks or _known_list(task_index)
                errors.append(
                    SpecError(
                        field,
                        f"sequence {seq.name!r} names unknown task {name!r}; known tasks: "
                        f"{known_tasks}; a sequence lists tasks declared under spec.tasks",
                    )
                )
            elif name in members:
                errors.append(SpecError(field, f"task {name!r} is listed twice in sequence {seq.name!r}"))
            else:
                members[name] = None
        if not complete or any(task in incomplete for task in members):
            continue  # connectivity over partly rejected edges would only add confusing errors
        groups = _components(graph, list(members))
        if len(groups) > 1:
            described = " | ".join(", ".join(group) for group in groups)
            errors.append(
                SpecError(
                    f"spec.sequences[{i}].tasks",
                    f"the tasks of sequence {seq.name!r} are not connected through data nodes (separate groups: "
                    f"{described}); a sequence must be weakly connected: split it into one sequence per group, or "
                    "add the tasks that link them",
                )
            )


class Dag:
    """A validated scenario graph. Build it with ``build_dag``; it is read-only afterwards."""

    __slots__ = ("_data_nodes", "_graph", "_levels", "_sequences", "_tasks")

    def __init__(
        self,
        data_nodes: Mapping[str, DataNodeDef],
        tasks: Mapping[str, TaskDef],
        sequences: Mapping[str, SequenceDef],
        graph: _Graph,
        levels: list[list[str]],
    ) -> None:
        self._data_nodes = MappingProxyType(dict(data_nodes))
        self._tasks = MappingProxyType(dict(tasks))
        self._sequences = MappingProxyType(dict(sequences))
        self._graph = graph
        self._levels = tuple(tuple(level) for level in levels)

    @property
    def data_nodes(self) -> Mapping[str, DataNodeDef]:
        """Data nodes by name, in declaration order."""
        return self._data_nodes

    @property
    def tasks(self) -> Mapping[str, TaskDef]:
        """Tasks by name, in declaration order."""
        return self._tasks

    @property
    def sequences(self) -> Mapping[str, SequenceDef]:
        """Sequences by name, in declaration order."""
        return self._sequences

    def levels(self, task_names: Iterable[str] | None = None) -> list[list[str]]:
        """Taipy's execution levels (§4.2) of the whole DAG, or of the sub-DAG of ``task_names`` (a sequence, a task).

        Within a level names are sorted. Raises ``KeyError`` for an unknown task.
        """
        if task_names is None:
            return [list(level) for level in self._levels]
        names = list(dict.fromkeys(task_names))
        unknown = [name for name in names if name not in self._tasks]
        if unknown:
            raise KeyError(f"unknown task(s): {', '.join(unknown)}")
        return _generations(self._graph, names)

    def sorted_tasks(self, task_names: Iterable[str] | None = None) -> list[str]:
        """The tasks in execution order: ``levels()`` flattened."""
        return [task for level in self.levels(task_names) for task in level]

    def producers(self, dn: str) -> tuple[str, ...]:
        """The tasks writing data node ``dn``, in declaration order."""
        return self._graph.producers[dn]

    def consumers(self, dn: str) -> tuple[str, ...]:
        """The tasks reading data node ``dn``, in declaration order."""
        return self._graph.consumers[dn]

    def downstream_tasks(self, task: str) -> frozenset[str]:
        """Every task depending, transitively, on an output of ``task`` (not ``task`` itself)."""
        return self._reach(task, self._graph.outputs, self._graph.consumers)

    def upstream_tasks(self, task: str) -> frozenset[str]:
        """Every task that ``task`` depends on, transitively, through its inputs (not ``task`` itself)."""
        return self._reach(task, self._graph.inputs, self._graph.producers)

    def _reach(
        self, task: str, edges: Mapping[str, tuple[str, ...]], neighbours: Mapping[str, tuple[str, ...]]
    ) -> frozenset[str]:
        if task not in self._tasks:
            raise KeyError(task)
        seen_dns: set[str] = set()
        found: set[str] = set()
        todo = [task]
        while todo:
            for dn in edges[todo.pop()]:
                if dn in seen_dns:
                    continue
                seen_dns.add(dn)
                for other in neighbours[dn]:
                    if other not in found:
                        found.add(other)
                        todo.append(other)
        found.discard(task)  # unreachable in an acyclic graph; kept for safety
        return frozenset(found)

    def source_data_nodes(self) -> frozenset[str]:
        """Data nodes no task writes (in-degree 0): the scenario's external inputs (Taipy's ``get_inputs``).

        A declared data node used by no task counts as both a source and a sink.
        """
        return frozenset(dn for dn, tasks in self._graph.producers.items() if not tasks)

    def sink_data_nodes(self) -> frozenset[str]:
        """Data nodes no task reads (out-degree 0): the scenario's results (Taipy's ``get_outputs``)."""
        return frozenset(dn for dn, tasks in self._graph.consumers.items() if not tasks)

    def __repr__(self) -> str:
        return f"Dag(data_nodes={len(self._data_nodes)}, tasks={len(self._tasks)}, sequences={len(self._sequences)})"


def build_dag(
    data_nodes: Sequence[DataNodeDef], tasks: Sequence[TaskDef], sequences: Sequence[SequenceDef] = ()
) -> Dag:
    """Validate a scenario spec and build its DAG; raise ``SpecErrors`` listing every problem found."""
    errors: list[SpecError] = []
    dn_index = _check_names("data node", "spec.dataNodes", [dn.name for dn in data_nodes], errors)
    for i, dn in enumerate(data_nodes):
        _check_data_node(i, dn, errors)
    task_index = _check_names("task", "spec.tasks", [t.name for t in tasks], errors)
    edges: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    incomplete: set[str] = set()  # tasks with a rejected input or output
    unknown = _UnknownDataNodes(dn_index)
    for i, task in enumerate(tasks):
        try:
            parse_function_ref(task.function, f"spec.tasks[{i}].function")
        except SpecError as error:
            errors.append(error)
        ins, outs = _check_task_edges(i, task, dn_index, unknown, errors)
        if len(ins) != len(task.inputs) or len(outs) != len(task.outputs):
            incomplete.add(task.name)
        if task_index[task.name] == i:  # a duplicate was reported above; analyse the first declaration only
            edges.append((task.name, ins, outs))

    graph = _make_graph(dn_index, edges)
    levels = _generations(graph, graph.inputs)
    placed = sum(len(level) for level in levels)
    if placed < len(graph.inputs):
        placed_tasks = {task for level in levels for task in level}
        remaining = set(graph.inputs) - placed_tasks
        errors.extend(SpecError("spec.tasks", _cycle_message(cycle)) for cycle in _find_cycles(graph, remaining))

    _check_names("sequence", "spec.sequences", [s.name for s in sequences], errors)
    _check_sequences(sequences, graph, task_index, incomplete, errors)

    if errors:
        raise SpecErrors(errors)
    return Dag(
        {dn.name: dn for dn in data_nodes},
        {t.name: t for t in tasks},
        {s.name: s for s in sequences},
        graph,
        levels,
    )
