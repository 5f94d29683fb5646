"""The printed table: figures against the targets of issue 6, requests per job, profile summaries."""

from __future__ import annotations

import textwrap

from tests.bench.sections import Report

WIDTHS = (62, 64, 26, 6)  # columns wrap beyond these widths


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "MISSED")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cells(row: list[str]) -> list[list[str]]:
        indent = len(row[0]) - len(row[0].lstrip())
        wrapped = [
            textwrap.wrap(c, w, subsequent_indent=" " * (indent + 2 if i == 0 else 0)) or [""]
            for i, (c, w) in enumerate(zip(row, WIDTHS, strict=True))
        ]
        if row[0].strip():
            wrapped[0][0] = " " * indent + wrapped[0][0].lstrip()
        return wrapped

    grid = [cells(r) for r in [header, *rows]]
    widths = [max(len(line) for row in grid for line in row[i]) for i in range(len(header))]
    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"

    def fmt(row: list[list[str]]) -> list[str]:
        height = max(len(c) for c in row)
        return [
            "| " + " | ".join((c[k] if k < len(c) else "").ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
            for k in range(height)
        ]

    out = [rule, *fmt(grid[0]), rule]
    for row in grid[1:]:
        out += fmt(row)
    return [*out, rule]


def render(report: Report) -> str:
    out: list[str] = ["", "taipod benchmarks (issue 6)"]
    rows: list[list[str]] = []
    section = None
    for row in report.rows:
        if row.section != section:
            section = row.section
            rows.append([section, "", "", ""])
        rows.append(["  " + row.metric, row.value, row.target, _verdict(row.met)])
    out += _table(["measurement", "figure", "target", "result"], rows)
    if report.requests:
        out += [
            "",
            "API requests per job by verb and resource (operator: audit log of its ServiceAccount; all clients:",
        ]
        out += [
            "apiserver_request_total delta, which includes the controllers, the scheduler, kwok and the benchmark):"
        ]
        for title, counts in report.requests.items():
            total = sum(counts.values())
            items = sorted(counts.items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{verb} {res} {n:.2f}" for (verb, res), n in items if n >= 0.01)
            out.append(f"  {title}: {total:.2f} = {shown}")
    for name, frames in report.profiles.items():
        out += ["", f"py-spy profile of the operator, {name} (busiest functions, % of non-idle samples):"]
        out += [f"  {incl:5.1f}% incl {own:5.1f}% self  {fn}" for fn, incl, own in frames]
    for name, rows in report.api_profiles.items():
        out += ["", f"Go CPU profile of kube-apiserver, {name} (cumulative % of the profile's samples):"]
        out += [f"  {row}" for row in rows]
    out += ["", *report.notes]
    return "\n".join(out)
