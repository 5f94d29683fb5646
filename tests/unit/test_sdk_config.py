"""Taipy's Config in taipod: configurations, ids, job execution modes, cluster settings (no cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

import taipod as tp
from taipod import Config
from taipod.sdk import settings
from taipod.sdk.config import Frequency, cycle_name


@pytest.fixture(autouse=True)
def fresh_config() -> Iterator[None]:
    Config.reset()
    yield
    Config.reset()


def double(nb: int) -> int:
    return nb * 2


def test_import_line_is_the_only_change() -> None:
    assert tp.Config is Config
    assert tp.Status.RUNNING.value == 4 and str(tp.Status.RUNNING) == "Status.RUNNING"
    assert [s.name for s in tp.SubmissionStatus] == [
        "SUBMITTED", "UNDEFINED", "BLOCKED", "PENDING", "RUNNING", "CANCELED", "FAILED", "COMPLETED"
    ]  # fmt: skip
    assert [(s.name, s.value) for s in tp.Status] == [
        ("SUBMITTED", 1), ("BLOCKED", 2), ("PENDING", 3), ("RUNNING", 4), ("CANCELED", 5), ("FAILED", 6),
        ("COMPLETED", 7), ("SKIPPED", 8), ("ABANDONED", 9),
    ]  # fmt: skip
    assert issubclass(tp.JobNotDeletedException, RuntimeError)
    for name in ("create_scenario", "submit", "get", "get_jobs", "get_latest_job", "get_submissions",
                 "get_latest_submission", "cancel_job", "delete_job", "delete_jobs", "is_deletable",
                 "subscribe_scenario", "unsubscribe_scenario", "get_scenarios", "delete", "exists", "Orchestrator",
                 "Scenario", "Sequence", "Task", "DataNode", "Job", "Submission", "Scope", "Frequency"):  # fmt: skip
        assert callable(getattr(tp, name)), name
    with pytest.raises(AttributeError):
        _ = tp.no_such_name  # type: ignore[attr-defined]


def test_configure_data_node_defaults_and_properties() -> None:
    dn = Config.configure_data_node("my_input", default_data=21)
    assert (dn.id, dn.storage_type, dn.scope, dn.validity_period) == ("my_input", "pickle", tp.Scope.SCENARIO, None)
    assert dn.default_data == 21 and dn.properties == {"default_data": 21}
    csv = Config.configure_data_node(
        "table", "csv", tp.Scope.GLOBAL, timedelta(hours=1), path="tables/t.csv", has_header=True
    )
    assert (csv.storage_type, csv.scope, csv.validity_period, csv.path) == (
        "csv", tp.Scope.GLOBAL, timedelta(hours=1), "tables/t.csv"
    )  # fmt: skip
    assert csv.has_header is True
    assert Config.data_nodes == {"my_input": dn, "table": csv}
    assert Config.configure_json_data_node("j", default_data=[1]).storage_type == "json"
    assert Config.configure_parquet_data_node("p").storage_type == "parquet"
    assert Config.configure_pickle_data_node("k").storage_type == "pickle"
    assert Config.configure_csv_data_node("c").storage_type == "csv"


@pytest.mark.parametrize("bad", ["1abc", "with space", "class", "", "x" * 51])
def test_bad_ids_are_rejected_with_the_fix(bad: str) -> None:
    with pytest.raises(tp.ConfigurationError, match=r"identifier|at most 50"):
        Config.configure_data_node(bad)


def test_configure_task_accepts_one_or_many_data_nodes_and_strings() -> None:
    a, b, c = (Config.configure_data_node(n) for n in "abc")
    single = Config.configure_task("t1", double, a, b)
    assert single.input_configs == [a] and single.output_configs == [b] and single.skippable is False
    many = Config.configure_task("t2", "taipod.samples:add", [a, b], [c], skippable=True)
    assert many.input_configs == [a, b] and many.function == "taipod.samples:add" and many.skippable
    with pytest.raises(tp.ConfigurationError, match="callable"):
        Config.configure_task("t3", 42, a)  # type: ignore[arg-type]
    with pytest.raises(tp.ConfigurationError, match="data node configurations"):
        Config.configure_task("t4", double, ["a"])  # type: ignore[list-item]


def test_configure_scenario_collects_data_nodes_and_sequences() -> None:
    a, b, c, extra = (Config.configure_data_node(n) for n in ("a", "b", "c", "extra"))
    t1 = Config.configure_task("t1", double, a, b)
    t2 = Config.configure_task("t2", double, b, c)
    sc = Config.configure_scenario("sc", [t1, t2], [extra], sequences={"first": [t1]})
    assert [dn.id for dn in sc.data_node_configs] == ["a", "b", "c", "extra"]
    assert sc.sequences == {"first": [t1]}
    sc.add_sequences({"both": [t1, t2]})
    sc.remove_sequences("first")
    assert list(sc.sequences) == ["both"]
    assert Config.scenarios["sc"] is sc


def test_job_execution_modes() -> None:
    assert Config.job_config.mode == "development" and Config.job_config.is_development
    Config.configure_job_executions(mode="standalone", max_nb_of_workers=4)
    assert Config.job_config.is_standalone and Config.job_config.max_nb_of_workers == 4
    with pytest.raises(tp.ConfigurationError, match="development' or 'standalone"):
        Config.configure_job_executions(mode="cluster")


def test_configure_cluster_updates_only_what_is_given() -> None:
    Config.configure_cluster(namespace="ns1", storage_url="file:///tmp/x")
    Config.configure_cluster(image_modules=["my_pkg"])
    now = settings.current()
    assert (now.namespace, now.storage_url, now.image_modules) == ("ns1", "file:///tmp/x", ("my_pkg",))
    Config.reset()
    assert settings.current().namespace is None


def test_cycle_names() -> None:
    moment = datetime(2024, 10, 24, 12)
    assert cycle_name(None, moment) is None
    assert cycle_name(Frequency.DAILY, moment) == "daily-2024-10-24"
    assert cycle_name(Frequency.WEEKLY, moment) == "weekly-2024-w43"
    assert cycle_name(Frequency.MONTHLY, moment) == "monthly-2024-10"
    assert cycle_name(Frequency.QUARTERLY, moment) == "quarterly-2024-q4"
    assert cycle_name(Frequency.YEARLY, moment) == "yearly-2024"
