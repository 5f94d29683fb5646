"""The scenario DAG: validation (every SpecError), Taipy's levels and graph queries (semantics.md §4.2, §10)."""

from __future__ import annotations

import datetime
import re
from dataclasses import FrozenInstanceError, dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taipod.core.dag import (
    STORAGE_TYPES,
    Dag,
    DataNodeDef,
    FunctionRef,
    SequenceDef,
    SpecError,
    SpecErrors,
    TaskDef,
    build_dag,
    parse_function_ref,
)
from taipod.core.status import Scope


def dns(*names: str) -> list[DataNodeDef]:
    return [DataNodeDef(name) for name in names]


def task(name: str, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = (), function: str = "print") -> TaskDef:
    return TaskDef(name, function, inputs, outputs)


def errors_of(
    data_nodes: list[DataNodeDef], tasks: list[TaskDef], sequences: list[SequenceDef] | None = None
) -> list[SpecError]:
    with pytest.raises(SpecErrors) as info:
        build_dag(data_nodes, tasks, sequences or [])
    return info.value.errors


# ---------------------------------------------------------------------------------------------------------------
# Definitions and function references


def test_definition_defaults() -> None:
    dn = DataNodeDef("x")
    assert (dn.storage_type, dn.scope, dn.validity_period, dn.has_default_data) == (
        "pickle",
        Scope.SCENARIO,
        None,
        False,
    )
    t = TaskDef("t", "print")
    assert (t.inputs, t.outputs, t.skippable) == ((), (), False)
    assert {"pickle", "json", "csv", "parquet"} == STORAGE_TYPES
    with pytest.raises(FrozenInstanceError):
        dn.name = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("print", FunctionRef("builtins", "print")),
        ("len", FunctionRef("builtins", "len")),
        ("sum", FunctionRef("builtins", "sum")),
        ("mod:f", FunctionRef("mod", "f")),
        ("my_pkg.tasks:double", FunctionRef("my_pkg.tasks", "double")),
        ("a.b.c:Outer.Inner.method", FunctionRef("a.b.c", "Outer.Inner.method")),
        ("builtins:print", FunctionRef("builtins", "print")),
        ("_private:_f", FunctionRef("_private", "_f")),
        ("mod:match", FunctionRef("mod", "match")),  # soft keywords are valid names
    ],
)
def test_parse_function_ref_accepts(text: str, expected: FunctionRef) -> None:
    assert parse_function_ref(text) == expected
    assert str(expected) == f"{expected.module}:{expected.qualname}"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "malformed"),
        ("mod:", "malformed"),
        (":f", "malformed"),
        ("mod:f:g", "malformed"),
        ("mod.:f", "malformed"),
        (".mod:f", "malformed"),
        ("mod..sub:f", "malformed"),
        ("mod:f.", "malformed"),
        ("my-mod:f", "malformed"),
        ("mod:f()", "malformed"),
        ("mod: f", "malformed"),
        (" print", "malformed"),
        ("1mod:f", "malformed"),
        ("class:f", "malformed"),
        ("mod:def", "malformed"),
        ("mod.f", "malformed"),  # a dotted path needs the ':' separator
        ("lambda x: x", "malformed"),
        ("double", "not a builtin"),  # bare names must be builtins
        ("True", "malformed"),  # a keyword
        ("Ellipsis", "not a builtin"),  # exists in builtins but is not callable
        ("__name__", "not a builtin"),
    ],
)
def test_parse_function_ref_rejects(text: str, hint: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_function_ref(text, "spec.tasks[3].function")
    assert info.value.field == "spec.tasks[3].function"
    assert hint in info.value.message
    assert "module:qualname" in info.value.message
    assert str(info.value) == f"spec.tasks[3].function: {info.value.message}"


def test_parse_function_ref_default_field() -> None:
    with pytest.raises(SpecError) as info:
        parse_function_ref("nope:")
    assert info.value.field == "function"


def test_spec_error_and_errors_strings() -> None:
    a = SpecError("spec.tasks[0].name", "bad")
    b = SpecError("spec.dataNodes[1].storageType", "worse")
    assert isinstance(a, ValueError)
    assert (a.field, a.message, str(a)) == ("spec.tasks[0].name", "bad", "spec.tasks[0].name: bad")
    both = SpecErrors([a, b])
    assert isinstance(both, ValueError)
    assert both.errors == [a, b]
    assert str(both) == "spec.tasks[0].name: bad; spec.dataNodes[1].storageType: worse"


def test_spec_errors_pickle() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(SpecErrors([SpecError("f", "m")])))
    assert str(error) == "f: m"
    assert error.errors[0].field == "f"


# ---------------------------------------------------------------------------------------------------------------
# Every SpecError case: (data nodes, tasks, sequences, expected field, words the message must contain)


@dataclass(frozen=True)
class Case:
    data_nodes: list[DataNodeDef]
    tasks: list[TaskDef]
    field: str
    words: tuple[str, ...]
    sequences: tuple[SequenceDef, ...] = ()


NAME_FIX = ("Python identifier", "at most 50 characters")
SPEC_ERROR_CASES = {
    "data node name starts with digit": Case(dns("1x"), [], "spec.dataNodes[0].name", ("'1x'", *NAME_FIX)),
    "data node name with dash": Case(dns("ok", "a-b"), [], "spec.dataNodes[1].name", ("'a-b'", *NAME_FIX)),
    "data node name empty": Case(dns(""), [], "spec.dataNodes[0].name", NAME_FIX),
    "data node name trailing newline": Case(dns("x\n"), [], "spec.dataNodes[0].name", NAME_FIX),
    "data node name non-ascii": Case(dns("donnée"), [], "spec.dataNodes[0].name", NAME_FIX),
    "data node name too long": Case(dns("x" * 51), [], "spec.dataNodes[0].name", NAME_FIX),
    "duplicate data node": Case(
        dns("x", "y", "x"), [], "spec.dataNodes[2].name", ("duplicate", "'x'", "spec.dataNodes[0]", "rename")
    ),
    "unknown storage type": Case(
        [DataNodeDef("x", storage_type="excel")],
        [],
        "spec.dataNodes[0].storageType",
        ("'excel'", "use one of: csv, json, parquet, pickle"),
    ),
    "storage type is case sensitive": Case(
        [DataNodeDef("a"), DataNodeDef("x", storage_type="JSON")], [], "spec.dataNodes[1].storageType", ("'JSON'",)
    ),
    "negative validity period": Case(
        [DataNodeDef("x", validity_period=datetime.timedelta(seconds=-1))],
        [],
        "spec.dataNodes[0].validityPeriod",
        ("negative", "'x'", "zero or more"),
    ),
    "task name invalid": Case([], [task("my task")], "spec.tasks[0].name", ("'my task'", *NAME_FIX)),
    "duplicate task": Case(
        [], [task("t"), task("u"), task("t")], "spec.tasks[2].name", ("duplicate", "'t'", "spec.tasks[0]", "rename")
    ),
    "malformed function": Case([], [task("t", function="mod")], "spec.tasks[0].function", ("module:qualname",)),
    "unknown input": Case(
        dns("a", "b"),
        [task("t0", (), ("a",)), task("t1", ("zz",), ("b",))],
        "spec.tasks[1].inputs[0]",
        ("'t1'", "unknown data node 'zz'", "known data nodes: a, b", "declare it under spec.dataNodes"),
    ),
    "unknown output": Case(
        dns("a"),
        [task("t0", ("a",), ("zz",))],
        "spec.tasks[0].outputs[0]",
        ("writes unknown data node 'zz'", "declare it under spec.dataNodes"),
    ),
    "unknown data node with no data nodes": Case(
        [], [task("t", ("x",))], "spec.tasks[0].inputs[0]", ("known data nodes: none", "declare it under")
    ),
    "input and output of the same task": Case(
        dns("a", "b"),
        [task("t", ("b", "a"), ("a",))],
        "spec.tasks[0].inputs[1]",
        ("'a'", "both an input and an output", "'t'", "write the result to another data node"),
    ),
    "input listed twice": Case(dns("a"), [task("t", ("a", "a"))], "spec.tasks[0].inputs[1]", ("listed twice",)),
    "output listed twice": Case(
        dns("a"), [task("t", (), ("a", "a"))], "spec.tasks[0].outputs[1]", ("listed twice", "outputs")
    ),
    "cycle": Case(
        dns("x", "y"),
        [task("a", ("x",), ("y",)), task("b", ("y",), ("x",))],
        "spec.tasks",
        ("cycle", "a -[y]-> b -[x]-> a", "remove one of these inputs or outputs"),
    ),
    "sequence name invalid": Case(
        dns(), [task("t")], "spec.sequences[0].name", ("'seq 1'", *NAME_FIX), (SequenceDef("seq 1", ("t",)),)
    ),
    "duplicate sequence": Case(
        dns(),
        [task("t")],
        "spec.sequences[1].name",
        ("duplicate", "'s'", "rename"),
        (SequenceDef("s", ("t",)), SequenceDef("s", ("t",))),
    ),
    "sequence with unknown task": Case(
        dns(),
        [task("t")],
        "spec.sequences[0].tasks[1]",
        ("unknown task 'nope'", "known tasks: t", "declared under spec.tasks"),
        (SequenceDef("s", ("t", "nope")),),
    ),
    "sequence listing a task twice": Case(
        dns(), [task("t")], "spec.sequences[0].tasks[1]", ("listed twice",), (SequenceDef("s", ("t", "t")),)
    ),
    "sequence not connected": Case(
        dns("a", "b", "c"),
        [task("t1", ("a",), ("b",)), task("t2", ("b",)), task("t3", ("c",))],
        "spec.sequences[0].tasks",
        ("'s'", "not connected", "t1, t2 | t3", "split it"),
        (SequenceDef("s", ("t1", "t2", "t3")),),
    ),
    "sequence of isolated tasks": Case(
        dns(),
        [task("t1"), task("t2")],
        "spec.sequences[0].tasks",
        ("not connected",),
        (SequenceDef("s", ("t1", "t2")),),
    ),
}


@pytest.mark.parametrize("case", SPEC_ERROR_CASES.values(), ids=SPEC_ERROR_CASES.keys())
def test_each_spec_error(case: Case) -> None:
    errors = errors_of(case.data_nodes, case.tasks, list(case.sequences))
    assert [e.field for e in errors] == [case.field], errors
    for word in case.words:
        assert word in errors[0].message
    assert str(errors[0]) == f"{case.field}: {errors[0].message}"


def test_unknown_data_node_suggests_close_name() -> None:
    [error] = errors_of(dns("sales_history", "forecast"), [task("t", ("sales_histry",), ("forecast",))])
    assert "did you mean 'sales_history'?" in error.message


def test_known_names_are_truncated_in_messages() -> None:
    [error] = errors_of(dns(*(f"n{i:03}" for i in range(300))), [task("t", ("zz",))])
    assert "known data nodes: n000, n001" in error.message
    assert "and 280 more" in error.message


@pytest.mark.parametrize(
    "name", ["x", "_", "X_1", "a" * 50, "_private", "CamelCase", "print"], ids=lambda n: n if len(n) < 10 else "long"
)
def test_valid_names(name: str) -> None:
    dag = build_dag([DataNodeDef(name)], [task(name, (name,))], [SequenceDef(name, (name,))])
    assert list(dag.data_nodes) == [name]


def test_data_node_and_task_may_share_a_name() -> None:
    dag = build_dag(dns("x", "clean"), [task("clean", ("x",), ("clean",))])
    assert dag.producers("clean") == ("clean",)


def test_zero_validity_period_and_every_storage_type_are_accepted() -> None:
    data_nodes = [
        DataNodeDef(f"d_{kind}", storage_type=kind, validity_period=datetime.timedelta(0)) for kind in STORAGE_TYPES
    ]
    assert set(build_dag(data_nodes, []).data_nodes) == {f"d_{kind}" for kind in STORAGE_TYPES}


def test_all_problems_are_collected() -> None:
    errors = errors_of(
        [
            DataNodeDef("x"),
            DataNodeDef("y", storage_type="xml"),
            DataNodeDef("z", validity_period=datetime.timedelta(days=-1)),
            DataNodeDef("x"),
        ],
        [
            task("a", ("x",), ("y",), function="no way"),
            task("b", ("y", "missing"), ("z",)),
            task("c", ("z",), ("x",)),
            task("a"),
        ],
        [SequenceDef("bad name", ("a", "ghost"))],
    )
    assert [e.field for e in errors] == [
        "spec.dataNodes[3].name",
        "spec.dataNodes[1].storageType",
        "spec.dataNodes[2].validityPeriod",
        "spec.tasks[3].name",
        "spec.tasks[0].function",
        "spec.tasks[1].inputs[1]",
        "spec.tasks",
        "spec.sequences[0].name",
        "spec.sequences[0].tasks[1]",
    ]


def test_connectivity_is_not_checked_over_rejected_edges() -> None:
    # t2's only link to t1 is an unknown data node: one error for it, no extra "not connected" error.
    errors = errors_of(dns("a"), [task("t1", (), ("a",)), task("t2", ("b",))], [SequenceDef("s", ("t1", "t2"))])
    assert [e.field for e in errors] == ["spec.tasks[1].inputs[0]"]


# ---------------------------------------------------------------------------------------------------------------
# Cycles


CYCLE_STEP = re.compile(r"(\w+) -\[(\w+)\]-> ")


def cycles_in(errors: list[SpecError]) -> list[list[tuple[str, str]]]:
    """The (task, data node) steps of each reported cycle, parsed from the messages."""
    found = []
    for error in errors:
        if error.field == "spec.tasks":
            path = error.message.split("cycle: ", 1)[1].split(" (each arrow", 1)[0]
            steps = CYCLE_STEP.findall(path)
            assert path.endswith(f"-> {steps[0][0]}")
            found.append(steps)
    return found


def assert_real_cycle(steps: list[tuple[str, str]], tasks: dict[str, TaskDef]) -> None:
    for k, (name, dn) in enumerate(steps):
        following = steps[(k + 1) % len(steps)][0]
        assert dn in tasks[name].outputs
        assert dn in tasks[following].inputs
    assert len({name for name, _ in steps}) == len(steps)


def test_cycle_lists_tasks_in_order_starting_with_first_declared() -> None:
    tasks = [
        task("pre", (), ("x",)),
        task("c", ("z",), ("w",)),
        task("a", ("x", "w"), ("y",)),
        task("b", ("y",), ("z",)),
        task("post", ("z",)),
    ]
    errors = errors_of(dns("x", "y", "z", "w"), tasks)
    assert cycles_in(errors) == [[("c", "w"), ("a", "y"), ("b", "z")]]


def test_disjoint_cycles_are_each_reported() -> None:
    tasks = [
        task("a", ("x",), ("y",)),
        task("b", ("y",), ("x",)),
        task("c", ("y",), ("p",)),  # downstream of the first cycle, not on it
        task("d", ("p", "q"), ("r",)),
        task("e", ("r",), ("q",)),
    ]
    errors = errors_of(dns("x", "y", "p", "q", "r"), tasks)
    assert cycles_in(errors) == [[("a", "y"), ("b", "x")], [("d", "r"), ("e", "q")]]


def test_long_cycle_message_is_truncated() -> None:
    n = 5000
    tasks = [task(f"t{i}", (f"d{i}",), (f"d{(i + 1) % n}",)) for i in range(n)]
    errors = errors_of(dns(*(f"d{i}" for i in range(n))), tasks)
    [error] = errors
    assert error.message.startswith("the tasks form a cycle: t0 -[d1]-> t1 -[d2]-> t2")
    assert "... (4980 more tasks) -> t0" in error.message
    assert len(error.message) < 600


# ---------------------------------------------------------------------------------------------------------------
# Levels and queries on a known graph

#   src ─> clean ─> cleaned ─> predict ─> predictions ─> report ─> summary
#                     └──────> train ───> model ───────────┘ (predict reads model too)
#   params ─> train ; lonely (no inputs/outputs) ; extra (declared, unused)


@pytest.fixture
def dag() -> Dag:
    return build_dag(
        dns("src", "params", "cleaned", "model", "predictions", "summary", "extra"),
        [
            task("report", ("predictions",), ("summary",)),
            task("predict", ("cleaned", "model"), ("predictions",)),
            task("train", ("cleaned", "params"), ("model",)),
            task("clean", ("src",), ("cleaned",)),
            task("lonely"),
        ],
        [SequenceDef("training", ("clean", "train")), SequenceDef("tail", ("predict", "report"))],
    )


def test_mappings_keep_declaration_order_and_are_read_only(dag: Dag) -> None:
    assert list(dag.tasks) == ["report", "predict", "train", "clean", "lonely"]
    assert list(dag.data_nodes)[:2] == ["src", "params"]
    assert list(dag.sequences) == ["training", "tail"]
    assert dag.tasks["train"].inputs == ("cleaned", "params")
    with pytest.raises(TypeError):
        dag.tasks["x"] = task("x")  # type: ignore[index]
    with pytest.raises(AttributeError):
        dag.tasks = {}  # type: ignore[misc]
    assert "tasks=5" in repr(dag)


def test_levels(dag: Dag) -> None:
    assert dag.levels() == [["clean", "lonely"], ["train"], ["predict"], ["report"]]
    assert dag.sorted_tasks() == ["clean", "lonely", "train", "predict", "report"]
    levels = dag.levels()
    levels[0].append("mutated")
    assert dag.levels()[0] == ["clean", "lonely"]


@pytest.mark.parametrize(
    ("subset", "expected"),
    [
        (["clean", "train"], [["clean"], ["train"]]),
        (["predict", "report"], [["predict"], ["report"]]),
        (["report", "clean"], [["clean", "report"]]),  # predictions is a source of this sub-DAG
        (["train", "predict", "report"], [["train"], ["predict"], ["report"]]),
        (["predict"], [["predict"]]),
        (["lonely"], [["lonely"]]),
        (["report", "report"], [["report"]]),
        ([], []),
    ],
)
def test_levels_of_a_sub_dag(dag: Dag, subset: list[str], expected: list[list[str]]) -> None:
    assert dag.levels(subset) == expected
    assert dag.levels(iter(subset)) == expected
    assert dag.sorted_tasks(subset) == [t for level in expected for t in level]


def test_levels_of_a_sequence(dag: Dag) -> None:
    assert dag.levels(dag.sequences["training"].tasks) == [["clean"], ["train"]]


def test_levels_of_unknown_task(dag: Dag) -> None:
    with pytest.raises(KeyError, match="nope"):
        dag.levels(["clean", "nope"])


def test_producers_and_consumers(dag: Dag) -> None:
    assert dag.producers("src") == ()
    assert dag.consumers("src") == ("clean",)
    assert dag.consumers("cleaned") == ("predict", "train")
    assert dag.producers("model") == ("train",)
    assert dag.consumers("extra") == dag.producers("extra") == ()
    with pytest.raises(KeyError):
        dag.producers("nope")


def test_upstream_and_downstream(dag: Dag) -> None:
    assert dag.downstream_tasks("clean") == {"train", "predict", "report"}
    assert dag.downstream_tasks("train") == {"predict", "report"}
    assert dag.downstream_tasks("report") == frozenset()
    assert dag.upstream_tasks("report") == {"predict", "train", "clean"}
    assert dag.upstream_tasks("clean") == frozenset()
    assert dag.upstream_tasks("lonely") == dag.downstream_tasks("lonely") == frozenset()
    with pytest.raises(KeyError):
        dag.upstream_tasks("nope")


def test_sources_and_sinks(dag: Dag) -> None:
    assert dag.source_data_nodes() == {"src", "params", "extra"}
    assert dag.sink_data_nodes() == {"summary", "extra"}


def test_several_producers_of_one_data_node() -> None:
    dag = build_dag(
        dns("a", "b", "shared", "out"),
        [
            task("w1", ("a",), ("shared",)),
            task("w0", (), ("a",)),
            task("w2", ("b",), ("shared",)),
            task("r", ("shared",), ("out",)),
        ],
    )
    assert dag.levels() == [["w0", "w2"], ["w1"], ["r"]]
    assert dag.producers("shared") == ("w1", "w2")
    assert dag.upstream_tasks("r") == {"w0", "w1", "w2"}


def test_empty_scenario() -> None:
    dag = build_dag([], [])
    assert dag.levels() == []
    assert dag.sorted_tasks() == []
    assert dag.source_data_nodes() == frozenset()


def test_empty_sequence_is_allowed_like_taipy() -> None:
    dag = build_dag([], [task("t")], [SequenceDef("s", ())])
    assert dag.levels(dag.sequences["s"].tasks) == []


# ---------------------------------------------------------------------------------------------------------------
# Property-based: random DAGs


@dataclass(frozen=True)
class RandomDag:
    data_nodes: list[DataNodeDef]
    tasks: list[TaskDef]


@st.composite
def random_dags(draw: st.DrawFn, max_tasks: int = 10, max_data_nodes: int = 12) -> RandomDag:
    """Any bipartite DAG: place tasks and data nodes on a random line; edges only go forward along it."""
    n_tasks = draw(st.integers(0, max_tasks))
    n_dns = draw(st.integers(0, max_data_nodes))
    nodes = [("t", i) for i in range(n_tasks)] + [("d", j) for j in range(n_dns)]
    order = draw(st.permutations(nodes))
    position = {node: k for k, node in enumerate(order)}
    tasks = []
    for i in range(n_tasks):
        before = [f"d{j}" for j in range(n_dns) if position["d", j] < position["t", i]]
        after = [f"d{j}" for j in range(n_dns) if position["d", j] > position["t", i]]
        ins = draw(st.lists(st.sampled_from(before), unique=True, max_size=3)) if before else []
        outs = draw(st.lists(st.sampled_from(after), unique=True, max_size=3)) if after else []
        tasks.append(task(f"t{i}", tuple(ins), tuple(outs)))
    tasks = draw(st.permutations(tasks))  # declaration order is independent of the topological order
    return RandomDag(dns(*(f"d{j}" for j in range(n_dns))), list(tasks))


def reach(start: str, tasks: dict[str, TaskDef]) -> set[str]:
    """Brute-force downstream closure."""
    found: set[str] = set()
    frontier = {start}
    while frontier:
        outs = {dn for name in frontier for dn in tasks[name].outputs}
        frontier = {name for name, t in tasks.items() if set(t.inputs) & outs} - found
        found |= frontier
    return found


def check_levels(dag: Dag, levels: list[list[str]], subset: set[str]) -> None:
    flat = [name for level in levels for name in level]
    assert sorted(flat) == sorted(subset)  # every task exactly once
    assert all(level == sorted(level) and level for level in levels)
    level_of = {name: k for k, level in enumerate(levels) for name in level}
    for name in subset:
        producers = {p for dn in dag.tasks[name].inputs for p in dag.producers(dn) if p in subset}
        # Taipy's generations: one level after the latest producer of an input, or 0 with none in the sub-DAG.
        assert level_of[name] == max((level_of[p] + 1 for p in producers), default=0)


@settings(max_examples=300, deadline=None)
@given(random_dags())
def test_random_dag_levels(graph: RandomDag) -> None:
    dag = build_dag(graph.data_nodes, graph.tasks)
    check_levels(dag, dag.levels(), set(dag.tasks))
    assert dag.sorted_tasks() == [t for level in dag.levels() for t in level]


@settings(max_examples=200, deadline=None)
@given(random_dags(), st.data())
def test_random_sub_dag_levels(graph: RandomDag, data: st.DataObject) -> None:
    dag = build_dag(graph.data_nodes, graph.tasks)
    subset = data.draw(st.sets(st.sampled_from(list(dag.tasks)))) if dag.tasks else set()
    check_levels(dag, dag.levels(subset), subset)


@settings(max_examples=300, deadline=None)
@given(random_dags())
def test_random_dag_upstream_downstream(graph: RandomDag) -> None:
    dag = build_dag(graph.data_nodes, graph.tasks)
    tasks = dict(dag.tasks)
    for a in tasks:
        assert dag.downstream_tasks(a) == reach(a, tasks)
        assert a not in dag.downstream_tasks(a)
        for b in tasks:
            assert (b in dag.downstream_tasks(a)) == (a in dag.upstream_tasks(b))
    for dn in dag.data_nodes:
        assert (dn in dag.source_data_nodes()) == (not any(dn in t.outputs for t in tasks.values()))
        assert (dn in dag.sink_data_nodes()) == (not any(dn in t.inputs for t in tasks.values()))


@settings(max_examples=300, deadline=None)
@given(random_dags(), st.data())
def test_random_back_edge_is_rejected_as_a_cycle(graph: RandomDag, data: st.DataObject) -> None:
    dag = build_dag(graph.data_nodes, graph.tasks)
    # Pairs (a, b, dn): b downstream of a writes dn, which a does not read yet. Reading it closes a cycle.
    candidates = [
        (a, b, dn)
        for a in dag.tasks
        for b in sorted(dag.downstream_tasks(a))
        for dn in dag.tasks[b].outputs
        if dn not in dag.tasks[a].inputs and dn not in dag.tasks[a].outputs
    ]
    if not candidates:
        return
    a, _b, dn = data.draw(st.sampled_from(candidates))
    tasks = [replace(t, inputs=(*t.inputs, dn)) if t.name == a else t for t in graph.tasks]
    errors = errors_of(graph.data_nodes, tasks)
    assert {e.field for e in errors} == {"spec.tasks"}
    by_name = {t.name: t for t in tasks}
    cycles = cycles_in(errors)
    assert cycles
    for steps in cycles:
        assert_real_cycle(steps, by_name)
    # The new edge dn -> a is on every cycle: each reported cycle reaches a through dn.
    for steps in cycles:
        names = [name for name, _ in steps]
        assert a in names
        assert steps[names.index(a) - 1][1] == dn


@settings(max_examples=200, deadline=None)
@given(random_dags(max_tasks=8), st.data())
def test_random_sequence_connectivity(graph: RandomDag, data: st.DataObject) -> None:
    dag = build_dag(graph.data_nodes, graph.tasks)
    if not dag.tasks:
        return
    members = data.draw(st.lists(st.sampled_from(list(dag.tasks)), unique=True, min_size=1))
    # Brute force: grow a group from the first member through shared data nodes.
    group = {members[0]}
    changed = True
    while changed:
        touched = {dn for m in group for dn in (*dag.tasks[m].inputs, *dag.tasks[m].outputs)}
        grown = group | {m for m in members if touched & {*dag.tasks[m].inputs, *dag.tasks[m].outputs}}
        changed = grown != group
        group = grown
    connected = group == set(members)
    sequences = [SequenceDef("s", tuple(members))]
    if connected:
        build_dag(graph.data_nodes, graph.tasks, sequences)
    else:
        assert [e.field for e in errors_of(graph.data_nodes, graph.tasks, sequences)] == ["spec.sequences[0].tasks"]


# ---------------------------------------------------------------------------------------------------------------
# Scale: 5,000 tasks (decisions, "Entities and where state lives")

N = 5000


def test_chain_of_5000_tasks_at_scale() -> None:
    data_nodes = dns(*(f"d{i}" for i in range(N + 1)))
    tasks = [task(f"t{i}", (f"d{i}",), (f"d{i + 1}",)) for i in range(N)]
    dag = build_dag(data_nodes, tasks)
    assert dag.levels(dag.tasks) == dag.levels()
    assert len(dag.levels()) == N
    assert dag.levels()[-1] == [f"t{N - 1}"]
    assert len(dag.downstream_tasks("t0")) == N - 1
    assert len(dag.upstream_tasks(f"t{N - 1}")) == N - 1


def test_wide_fan_out_and_fan_in_of_5000_tasks_at_scale() -> None:
    data_nodes = dns("src", "total", *(f"o{i}" for i in range(N)))
    tasks = [task(f"t{i}", ("src",), (f"o{i}",)) for i in range(N)]
    tasks.append(task("sum_all", tuple(f"o{i}" for i in range(N)), ("total",)))
    sequences = [SequenceDef("everything", tuple(t.name for t in tasks))]
    dag = build_dag(data_nodes, tasks, sequences)
    levels = dag.levels()
    assert [len(level) for level in levels] == [N, 1]
    assert dag.levels(dag.sequences["everything"].tasks) == levels
    assert all(dag.levels([f"t{i}"]) == [[f"t{i}"]] for i in range(0, N, 10))


def test_many_producers_and_consumers_of_one_data_node_at_scale() -> None:
    half = N // 2
    data_nodes = dns("hub", *(f"i{k}" for k in range(half)), *(f"o{k}" for k in range(half)))
    tasks = [task(f"w{k}", (f"i{k}",), ("hub",)) for k in range(half)]
    tasks += [task(f"r{k}", ("hub",), (f"o{k}",)) for k in range(half)]
    assert [len(level) for level in build_dag(data_nodes, tasks).levels()] == [half, half]
    # Closing a cycle through the hub is detected and reported once.
    tasks[0] = task("w0", ("i0", "o0"), ("hub",))
    assert len(errors_of(data_nodes, tasks)) == 1


def test_a_large_broken_spec_is_rejected_with_every_error() -> None:
    data_nodes = dns(*(f"node_{i}" for i in range(150)))
    tasks = [task(f"t{i}", (f"nod_{i}x",)) for i in range(N)]
    sequences = [SequenceDef("s", tuple(f"ghost{i}" for i in range(N)))]
    errors = errors_of(data_nodes, tasks, sequences)
    assert len(errors) == 2 * N
    assert sum("did you mean" in e.message for e in errors) <= 20  # spelling hints are rationed
