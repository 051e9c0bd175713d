"""The targets of issues 6 and 15, and the Markdown tables ``make bench`` prints (the full
report kept in bench/README.md)."""

from __future__ import annotations

from typing import Any

#: Ratio of a ``diffs`` save to an untracked one (medians), per database and workload: issue 15's
#: where it names one, issue 6's elsewhere.
RECORDING_TARGETS = {
    "sqlite": {"update_autocommit": 1.3, "update_tx100": 1.2, "create_autocommit": 1.5,
               "load_2000": 1.5},
    "postgres": {"update_autocommit": 1.1, "update_tx100": 1.15, "create_autocommit": 1.4,
                 "load_2000": 1.5},
}
#: The recording work alone (no publish), µs per save over the untracked save: SQLite update.
ALONE_TARGET_US = 30.0
#: The other variants, in the order of the table's columns.
COMPARED = {"alone": "recording alone (no publish)", "floor": "floor: plain + 1 LPUSH per commit",
            "outbox": "diffs, outbox mode", "naive": "naive design",
            "simple_history": "django-simple-history", "auditlog": "django-auditlog",
            "pghistory": "django-pghistory (PostgreSQL)"}
INGEST_TARGETS = {"one diff per task": 10_000, "100 diffs per task": 40_000,
                  "500 diffs per task": 40_000}
#: Commit-to-readable at 500 saves per second, ms: p50 and p99.
LATENCY_TARGETS = (60.0, 250.0)
READ_TARGETS = {"newest(100)": (1.0, 3.0), "since(ts), 10 diffs": (0.5, None)}
MEMORY_TARGET = 200
DATABASES = {"sqlite": "SQLite in memory", "postgres": "PostgreSQL on 127.0.0.1"}


def mark(ok: bool) -> str:
    """Return the sign a table cell carries for a met or missed target."""
    return "✓" if ok else "✗ (missed)"


def recording_table(recording: dict[str, Any]) -> list[str]:
    """Return the per-save table: each variant's median and ratio to ``plain``, per database.

    One ``diffs`` column per publish mode the run knew, each marked against the target.
    """
    from bench.recording import WORKLOADS

    lines = []
    for database, result in recording.items():
        modes = result.get("publish_modes", ["on_commit"])
        first = next(iter(result["workloads"].values()))
        compared = {name: title for name, title in COMPARED.items() if name in first}
        heads = [f"diffs, publish={mode}" for mode in modes] + list(compared.values())
        lines += [
            f"**{DATABASES[database]}** ({result['vendor']}), median per save or per loaded "
            f"instance over {result['repetitions']} interleaved repetitions:",
            "",
            f"| per save | plain (untracked) | {' | '.join(heads)} | target |",
            f"|---|---:|{'---:|' * len(heads)}---|",
        ]
        for workload, title in WORKLOADS.items():
            row = result["workloads"][workload]
            target = RECORDING_TARGETS[database][workload]
            cells = [f"{row['plain']['median_us']:.1f} µs"]
            for mode in modes:
                ratio = row[f"diffs_{mode}"]["ratio"]
                cells.append(f"{row[f'diffs_{mode}']['median_us']:.1f} µs = **{ratio:.2f}x** "
                             f"{mark(ratio <= target)}")
            cells += [_compared(row, name) for name in compared]
            lines.append(f"| {title} | {' | '.join(cells)} | <= {target}x |")
        lines.append("")
    return lines


def alone_us(row: dict[str, Any]) -> float:
    """Return what the recording alone adds to an untracked save, µs (difference of medians)."""
    return float(row["alone"]["median_us"] - row["plain"]["median_us"])


def _compared(row: dict[str, Any], name: str) -> str:
    cell = f"{row[name]['median_us']:.1f} µs = {row[name]['ratio']:.2f}x"
    if name == "alone":
        cell += f" (+{alone_us(row):.1f} µs)"
    return cell


def alone_line(recording: dict[str, Any]) -> list[str]:
    """Return the sentence stating the recording-alone figure against its target."""
    sqlite = recording.get("sqlite")
    if sqlite is None:
        return []
    extra = alone_us(sqlite["workloads"]["update_autocommit"])
    return [f"Recording alone (tracking, encoding, buffering; publish dropped), two-field update "
            f"on SQLite in memory: **+{extra:.1f} µs** per save over the untracked save "
            f"(target <= {ALONE_TARGET_US:.0f} µs {mark(extra <= ALONE_TARGET_US)}).", ""]


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
    lines.append(f"| a task that does nothing (Celery's own ceiling) | {floor:,.0f} tasks/s | |")
    if "parse-only floor" in ingest:
        parsed = ingest["parse-only floor"]["diffs_per_second"]
        lines.append(f"| floor: 500 per task, only parsed and checked | {parsed:,.0f} | |")
    lines.append("")
    return lines


def end_to_end_table(end_to_end: dict[str, Any]) -> list[str]:
    """Return the end-to-end table: two web processes, one worker, per publish mode."""
    from bench.end_to_end import MODES

    p50_target, p99_target = LATENCY_TARGETS
    lines = [
        f"**End to end**, {end_to_end['web_processes']} web processes saving in autocommit "
        f"(SQLite in memory each), {end_to_end['worker_processes']} worker process, "
        f"{end_to_end['seconds']:.0f} s per part; every save stored exactly once, checked:",
        "",
        f"| publish | commit-to-readable at {end_to_end['rate']:.0f} saves/s: p50 | p99 | max "
        f"| messages per 100 saves | full speed: saves/s | stored/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        latency, full = end_to_end[mode]["latency"], end_to_end[mode]["full speed"]
        ms = latency["commit_to_readable_ms"]
        lines.append(
            f"| {mode} | {ms['p50']:.1f} ms {mark(ms['p50'] <= p50_target)} "
            f"| {ms['p99']:.1f} ms {mark(ms['p99'] <= p99_target)} | {ms['max']:.1f} ms "
            f"| {100 * latency['messages_sent'] / latency['saves']:.1f} "
            f"| {full['saves_per_second']:,.0f} | {full['stored_per_second']:,.0f} |")
    lines += ["", f"Targets: p50 <= {p50_target:.0f} ms, p99 <= {p99_target:.0f} ms. At full "
              "speed the worker stores what two web processes make; its own ceiling is the "
              "ingest table.", ""]
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
        *alone_line(results["recording"]),
        *ingest_table(results["ingest"]),
        *(end_to_end_table(results["end_to_end"]) if "end_to_end" in results else []),
        *storage_table(results["storage"]),
        *(metrics_lines(results["metrics"]) if "metrics" in results else []),
        f"Checked afterwards: {results['verified']}.",
    ]
    return "\n".join(lines)


def metrics_lines(part: dict[str, Any]) -> list[str]:
    """Return what metrics add (bench/metrics.py), as one paragraph."""
    return [
        f"Metrics: {part['us_per_counter_add']} µs per save (one counter add per commit); "
        f"saves with it / without it: {part['ratio_with_over_without']}; "
        f"{part['worker_us_per_diff_tallied']} µs per diff in the worker; "
        f"{part['ms_per_scrape']} ms per scrape.",
        "",
    ]
