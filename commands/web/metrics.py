"""/metrics in Prometheus's text format, read from the Logs view at each scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from syncledger.projections.logs import RunTotals


class RunsCollector(Collector):
    def __init__(self, totals: Callable[[], RunTotals]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[Metric]:
        totals = self.totals()
        runs = CounterMetricFamily("syncledger_runs", "Sync runs, by CRM and outcome",
                                   labels=["crm", "outcome"])
        for (crm, outcome), count in sorted(totals.runs.items()):
            runs.add_metric([crm, outcome], count)
        yield runs
        records = CounterMetricFamily(
            "syncledger_records", "Records the runs decided, by CRM, kind and result "
            "(created, updated, skipped, failed)", labels=["crm", "kind", "result"])
        for (crm, kind, result), count in sorted(totals.records.items()):
            records.add_metric([crm, kind, result], count)
        yield records
        calls = CounterMetricFamily("syncledger_api_calls", "CRM API calls the runs spent",
                                    labels=["crm"])
        for crm, count in sorted(totals.api_calls.items()):
            calls.add_metric([crm], count)
        yield calls
        success = GaugeMetricFamily("syncledger_last_success_timestamp_seconds",
                                    "When the last succeeded run ended (Unix time)",
                                    labels=["crm"])
        for crm, at in sorted(totals.last_success.items()):
            success.add_metric([crm], at)
        yield success
        duration = SummaryMetricFamily("syncledger_run_duration_seconds",
                                       "Real duration of the finished runs", labels=["crm"])
        for crm, (count, seconds) in sorted(totals.durations.items()):
            duration.add_metric([crm], count_value=count, sum_value=seconds)
        yield duration
        last = GaugeMetricFamily("syncledger_last_run_duration_seconds",
                                 "Real duration of the latest finished run", labels=["crm"])
        for crm, seconds in sorted(totals.last_duration.items()):
            last.add_metric([crm], seconds)
        yield last


def exposition(totals: Callable[[], RunTotals]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunsCollector(totals))
    return generate_latest(registry)
