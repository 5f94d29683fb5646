"""Run the benchmarks of issue 6 and print a table: ``python -m tests.bench`` or ``python tests/bench/run.py``.

Sections (``--only``): latency (a chain on the local node, real pods), chain (the same chain on kwok nodes, taipod
against Argo Workflows), throughput (kwok: taipod and Argo Workflows against plain batch/v1 Jobs on the same
cluster), scale (a ``--tasks`` scenario, wide and layered, under kwok), sdk
(``tp.get_jobs()`` with ``--tasks`` jobs). A fresh local cluster is started in a temporary folder and stopped at the
end; the operator runs as a child process (``python -m taipod.operator``), one per measurement, and so does Argo's
workflow-controller. By default the platform (control plane, kwok, the benchmark) is pinned to one core and the
controllers under test to another (``--unpinned`` to share every core).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("latency", "chain", "throughput", "scale", "sdk", "data", "handover")


def _paths() -> None:
    for path in (ROOT / "tests" / "cluster", ROOT / "operator", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma list of: " + ", ".join(SECTIONS))
    parser.add_argument("--tasks", type=int, default=5000, help="tasks of the scale scenario, jobs for the SDK")
    parser.add_argument("--shapes", default="wide,layered", help="scale shapes: wide, layered")
    parser.add_argument("--layers", type=int, default=50, help="layers of the layered shape")
    parser.add_argument("--width", type=int, default=500, help="jobs per throughput run")
    parser.add_argument("--chain", type=int, default=20, help="tasks of the latency chain")
    parser.add_argument("--kwok-nodes", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="record the operator with py-spy (throughput, scale)")
    parser.add_argument(
        "--unpinned",
        action="store_true",
        help="let every process use every core (default: control plane on one core, the controllers on another)",
    )
    parser.add_argument("--no-argo", action="store_true", help="leave out the Argo Workflows peer (chain, throughput)")
    parser.add_argument(
        "--default-platform",
        action="store_true",
        help="keep kube-controller-manager's and kube-scheduler's default client rate limits (20 and 50 QPS)",
    )
    parser.add_argument(
        "--operator-module",
        default="taipod.operator",
        help="run the operator as python -m MODULE (A/B experiments with a patched operator on PYTHONPATH)",
    )
    parser.add_argument("--latency-timeout", type=float, default=300)
    parser.add_argument("--throughput-timeout", type=float, default=600)
    parser.add_argument("--scale-timeout", type=float, default=1200)
    parser.add_argument("--stall-timeout", type=float, default=180, help="stop a scale run that made no progress")
    parser.add_argument("--sdk-repeat", type=int, default=3)
    parser.add_argument("--data-mb", type=int, default=50, help="size of the data-plane section's value")
    parser.add_argument("--run-dir", type=Path, help="where the cluster, logs and profiles go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, profiles, results.json)")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _paths()
    from tests.bench import argo, harness, sections
    from tests.bench.report import render

    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="taipod-bench-"))).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    wanted = args.only.split(",")
    # Built before anything is measured (about 3 minutes the first time).
    argo_dir = argo.ensure_built() if not args.no_argo and {"chain", "throughput"} & set(wanted) else None
    pinning = harness.Pinning() if args.unpinned else harness.Pinning.split()
    if pinning.platform is not None:
        # This process and everything it starts share the platform's CPUs; the controllers get theirs by taskset.
        os.sched_setaffinity(0, {int(c) for c in pinning.platform.split(",")})
    cluster = harness.BenchCluster(run_dir / "cluster", tuned=not args.default_platform, pinning=pinning)
    started = time.monotonic()
    harness.log(f"run folder {run_dir}; starting a local cluster")
    cluster.start()
    failed = False
    bench: sections.Bench | None = None
    try:
        api = harness.Api(cluster.kubeconfig)
        harness.install_taipod(cluster, api)
        bench = sections.Bench(cluster, api, run_dir, harness.operator_kubeconfig(cluster, api), args, pinning=pinning)
        if argo_dir is not None:
            argo.install(cluster, api, argo_dir)
            bench.argo = argo_dir
            bench.argo_kubeconfig = harness.service_account_kubeconfig(cluster, api, harness.ARGO_NS, harness.ARGO_SA)
        for name in [s for s in SECTIONS if s in wanted]:
            harness.log(f"== {name}")
            try:
                getattr(sections, name)(bench)
            except Exception as error:  # report what failed and go on with the other sections
                failed = True
                harness.log(f"{name} failed: {type(error).__name__}: {error}")
                bench.report.add(name, "FAILED", f"{type(error).__name__}: {error}"[:300], "", False)
            bench.sections_run.add(name)
    finally:
        cluster.stop()
    elapsed = time.monotonic() - started
    assert bench is not None
    platform = (
        "default"
        if args.default_platform
        else "tuned (" + "; ".join(f"{k} {' '.join(v)}" for k, v in harness.TUNED_FLAGS.items()) + ")"
    )
    kwok = f"; {args.kwok_nodes} kwok node(s)" if bench.kwok else ""
    codes = sorted(set(bench.report.raw.get("operator_code", {}).values()))
    bench.report.notes.append(
        f"control plane: {platform}{kwok}; operator source {', '.join(codes) or '-'}; run time {elapsed:.0f} s"
    )
    bench.report.notes.append(f"CPUs: {pinning.describe()}")
    if argo_dir is not None:
        settings = "; ".join(
            f"{s.name}: --qps {s.qps} --burst {s.burst}" + (f" DEFAULT_REQUEUE_TIME={s.requeue}" if s.requeue else "")
            for s in argo.SETTINGS.values()
        )
        bench.report.notes.append(
            f"peer: Argo Workflows {argo.ARGO_VERSION} workflow-controller built from its Go module ({settings}); its "
            "pods are finished by a kwok stage (tests/bench/kwok-argo.yaml) and write no WorkflowTaskResult, which "
            "spares Argo the executor's API writes (slightly optimistic for Argo)"
        )
    print(render(bench.report))
    (run_dir / "results.json").write_text(
        json.dumps(
            {"rows": [r.__dict__ for r in bench.report.rows], "raw": bench.report.raw, "notes": bench.report.notes},
            indent=1,
            default=str,
        )
    )
    if args.keep or args.run_dir:
        shutil.rmtree(run_dir / "cluster" / "etcd", ignore_errors=True)
        harness.log(f"kept {run_dir} (logs/, cluster/logs/, profiles, results.json)")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    _paths()
    sys.exit(main())
