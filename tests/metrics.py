"""Reading Prometheus exposition text in tests: samples by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every ``diffs_*`` sample of exposition ``text``: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("diffs_")
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    """Return one sample of :func:`samples` (0 when absent: a counter not yet counted)."""
    return found.get((name, tuple(sorted(labels.items()))), 0.0)
