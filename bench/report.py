"""The targets of issue 6 and the Markdown table ``make bench`` prints and the README shows."""

from __future__ import annotations

from typing import Any

#: Ratio of a ``diffs`` save to an untracked one (medians), per database and workload.
RECORDING_TARGETS = {
    "sqlite": {"update_autocommit": 2.0, "update_tx100": 1.3, "create_autocommit": 2.2,
               "load_2000": 1.5},
    "postgres": {"update_autocommit": 1.35, "update_tx100": 1.15, "create_autocommit": 1.4,
                 "load_2000": 1.5},
}
INGEST_TARGETS = {"one diff per task": 10_000, "100 diffs per task": 50_000}
READ_TARGETS = {"newest(100)": (1.0, 3.0), "since(ts), 10 diffs": (0.5, None)}
MEMORY_TARGET = 200
DATABASES = {"sqlite": "SQLite in memory", "postgres": "PostgreSQL on 127.0.0.1"}


def mark(ok: bool) -> str:
    """Return the sign a table cell carries for a met or missed target."""
    return "✓" if ok else "✗ (missed)"


def recording_table(recording: dict[str, Any]) -> list[str]:
    """Return the per-save table: each variant's median and ratio to ``plain``, per database."""
    from bench.recording import WORKLOADS

    lines = []
    for database, result in recording.items():
        lines += [
            f"**{DATABASES[database]}** ({result['vendor']}), median per save or per loaded "
            f"instance over {result['repetitions']} interleaved repetitions:",
            "",
            "| per save | plain (untracked) | diffs | target | floor: plain + 1 LPUSH "
            "per commit | diffs, outbox mode | naive design |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for workload, title in WORKLOADS.items():
            row = result["workloads"][workload]
            target = RECORDING_TARGETS[database][workload]
            ratio = row["diffs"]["ratio"]
            lines.append(
                f"| {title} | {row['plain']['median_us']:.1f} µs "
                f"| {row['diffs']['median_us']:.1f} µs = **{ratio:.2f}x** "
                f"| <= {target}x {mark(ratio <= target)} "
                f"| {row['floor']['median_us']:.1f} µs = {row['floor']['ratio']:.2f}x "
                f"| {row['outbox']['median_us']:.1f} µs = {row['outbox']['ratio']:.2f}x "
                f"| {row['naive']['median_us']:.1f} µs = {row['naive']['ratio']:.2f}x |"
            )
        lines.append("")
    return lines


def ingest_table(ingest: dict[str, Any]) -> list[str]:
    """Return the worker ingest table."""
    lines = [
        f"**Worker ingest**, one worker process (solo pool), broker `{ingest['broker']}`:",
        "",
        "| tasks carrying | diffs stored per second | target |",
        "|---|---:|---|",
    ]
    for shape, target in INGEST_TARGETS.items():
        rate = ingest[shape]["diffs_per_second"]
        lines.append(f"| {shape} | {rate:,.0f} | >= {target:,} {mark(rate >= target)} |")
    floor = ingest["no-op task floor"]["tasks_per_second"]
    lines += [f"| a task that does nothing (Celery's own ceiling) | {floor:,.0f} tasks/s | |", ""]
    return lines


def storage_table(storage: dict[str, Any]) -> list[str]:
    """Return the reads and memory tables."""
    lines = [
        "**Reads** of an object holding 10,000 diffs, one call at a time:",
        "",
        "| read | p50 | p99 | target |",
        "|---|---:|---:|---|",
    ]
    for name, (p50_target, p99_target) in READ_TARGETS.items():
        row = storage["reads"][name]
        ok = row["p50_ms"] <= p50_target and (p99_target is None or row["p99_ms"] <= p99_target)
        wanted = f"p50 <= {p50_target} ms" + (f", p99 <= {p99_target} ms" if p99_target else "")
        lines.append(f"| `{name}` | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms "
                     f"| {wanted} {mark(ok)} |")
    lines += [
        "",
        "**Redis memory** (`MEMORY USAGE`), 100,000 diffs of a two-field integer change:",
        "",
        "| keys | bytes per stored diff | member | target |",
        "|---|---:|---:|---|",
    ]
    for kind, row in storage["memory"].items():
        target = (f"<= {MEMORY_TARGET} {mark(row['bytes_per_diff'] <= MEMORY_TARGET)}"
                  if kind == "object keys" else "counted separately")
        lines.append(f"| {row['keys']:,} {kind} ({row['encoding']}) "
                     f"| {row['bytes_per_diff']:.1f} | {row['member_bytes']} bytes | {target} |")
    lines.append("")
    return lines


def markdown(results: dict[str, Any]) -> str:
    """Return the whole report as Markdown."""
    machine = results["machine"]
    lines = [
        f"Machine: {machine['cpu']} ({machine['cores']} cores), {machine['system']}; "
        f"Python {machine['python']}, Django {machine['django']}, Celery {machine['celery']}, "
        f"kombu {machine['kombu']}, redis-py {machine['redis_py']}, Redis {machine['redis']}. "
        f"Command: `{results['command']}` ({results['seconds']:.0f} s, {results['date']}).",
        "",
        *recording_table(results["recording"]),
        *ingest_table(results["ingest"]),
        *storage_table(results["storage"]),
        f"Checked afterwards: {results['verified']}.",
    ]
    return "\n".join(lines)
