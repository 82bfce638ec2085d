"""
The relay's metrics, in the Prometheus text format, at C{/metrics}::

    metrics = RelayMetrics()
    dispatcher = Dispatcher(store, delivery, reactor, observer=metrics)
    root.putChild(b"metrics", MetricsResource(metrics, store, reactor))

L{RelayMetrics} is an L{IRelayObserver}: the parts of the relay tell it what
they do (events taken in, deliveries and their outcomes, failed upstream polls)
and it counts.  What is in the store (queue depth and oldest event per recipient,
subscriptions, dead letters) is read from the store when C{/metrics} is asked
for, with one L{ISubscriptionStore.queueStats} call that does not block the
reactor; L{MetricsResource} answers once the store has.

Each L{RelayMetrics} has its own L{CollectorRegistry}: several relays (or tests)
in one process do not share, or clash on, the global one.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.utils import floatToGoString
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from .interfaces import IRelayObserver, ISubscriptionStore
from .store import QueueStats

#: Upper bounds of the delivery latency buckets, in seconds: from a listener
#: that answers at once to events held a day by retries (the default maximum
#: age is 24 hours).
LATENCY_BUCKETS: Tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    21600.0,
    86400.0,
)

#: The text format every Prometheus server (and other scraper) reads.  Recent
#: clients call theirs 1.0.0, which differs only for names that are not plain
#: ASCII identifiers; ours all are.
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

#: The C{outcome} label values of C{ipp_ntfy_deliveries_total}.
OUTCOMES: Tuple[str, ...] = ("delivered", "retry", "cancelled", "dead-lettered")


def withoutUserInfo(uri: str) -> str:
    """
    C{uri} without a user name and password, if it has them: a label is shown to
    whoever may read the metrics.
    """
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class _StoreCollector:
    """
    The gauges read from the store: set just before the text is generated, and
    read by the registry while it is.
    """

    def __init__(self) -> None:
        self.stats: Optional[QueueStats] = None
        self.now = 0.0

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        return iter(self._families(self.stats, self.now))

    def _families(
        self, stats: Optional[QueueStats] = None, now: float = 0.0
    ) -> Tuple[Metric, ...]:
        depth = GaugeMetricFamily(
            "ipp_ntfy_queue_depth",
            "Events queued for delivery, per recipient URI.",
            labels=["recipient"],
        )
        oldest = GaugeMetricFamily(
            "ipp_ntfy_queue_oldest_age_seconds",
            "Seconds since the longest-waiting event queued for a recipient (the "
            "first in its subscription's queue) was queued.",
            labels=["recipient"],
        )
        subscriptions = GaugeMetricFamily(
            "ipp_ntfy_subscriptions",
            "Subscriptions in the store, by kind (push, pull) and state (active; "
            "expired: lease ended, not yet swept).",
            labels=["kind", "state"],
        )
        deadLetters = GaugeMetricFamily(
            "ipp_ntfy_dead_letters",
            "Dead letters kept in the store (replayable with ipp-ntfy replay).",
        )
        if stats is not None:
            # Two URIs that differ only in their user info share a label.
            byLabel: Dict[str, Tuple[int, float]] = {}
            for queue in stats.recipients:
                label = withoutUserInfo(queue.recipientUri)
                count, first = byLabel.get(label, (0, queue.oldestQueuedAt))
                byLabel[label] = (count + queue.depth, min(first, queue.oldestQueuedAt))
            for label, (count, first) in sorted(byLabel.items()):
                depth.add_metric([label], count)
                oldest.add_metric([label], max(0.0, now - first))
            for kind, state, value in (
                ("push", "active", stats.pushActive),
                ("push", "expired", stats.pushExpired),
                ("pull", "active", stats.pullActive),
                ("pull", "expired", stats.pullExpired),
            ):
                subscriptions.add_metric([kind, state], value)
            deadLetters.add_metric([], stats.deadLetters)
        return (depth, oldest, subscriptions, deadLetters)


class _LatencyHistogram:
    """
    The delivery latency histogram, counted in plain lists: the dispatcher
    observes every delivered event, and C{prometheus_client}'s L{Histogram
    <prometheus_client.Histogram>} takes a lock twice per observation, which
    nothing here needs (everything runs in the reactor thread).  It costs the
    dispatcher about a tenth as much.
    """

    def __init__(self, name: str, documentation: str, bounds: Sequence[float]):
        self.name = name
        self.documentation = documentation
        self.bounds = sorted(float(bound) for bound in bounds)
        # counts[i]: observations above bounds[i - 1], up to bounds[i]; the
        # last one, above every bound.
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, values: Sequence[float]) -> None:
        bounds, counts, total = self.bounds, self.counts, 0.0
        for value in values:
            if value < 0.0:
                value = 0.0
            counts[bisect_left(bounds, value)] += 1
            total += value
        self.sum += total

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[Metric]:
        buckets = []
        cumulative = 0
        for bound, count in zip(self.bounds, self.counts):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        buckets.append(("+Inf", cumulative + self.counts[-1]))
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=self.sum
        )


@implementer(IRelayObserver)
class RelayMetrics:
    """
    The relay's metrics, in a registry of their own.

    Counters (since the process started): C{ipp_ntfy_events_received_total}
    by C{source}, C{ipp_ntfy_deliveries_total} by C{outcome},
    C{ipp_ntfy_upstream_poll_errors_total} by C{upstream}; the histogram
    C{ipp_ntfy_delivery_latency_seconds}.  Gauges from the store, at scrape
    time: C{ipp_ntfy_queue_depth} and C{ipp_ntfy_queue_oldest_age_seconds} by
    C{recipient}, C{ipp_ntfy_subscriptions} by C{kind} and C{state},
    C{ipp_ntfy_dead_letters}.

    Like the rest of the relay, it is used from the reactor thread only.

    @ivar registry: the L{CollectorRegistry} holding them all.
    """

    def __init__(
        self,
        registry: Optional[CollectorRegistry] = None,
        latencyBuckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        """
        @param registry: where to register; by default a new one.
        @param latencyBuckets: the upper bounds of the latency histogram's
            buckets, in seconds.
        """
        self.registry = registry if registry is not None else CollectorRegistry()
        self._received = Counter(
            "ipp_ntfy_events_received",
            "Events taken in from a source (a pushing printer's name, an "
            "upstream's URI) and queued.",
            ["source"],
            registry=self.registry,
        )
        self._deliveries = Counter(
            "ipp_ntfy_deliveries",
            "Events sent to recipients, by outcome: delivered; retry (to be sent "
            "again later); cancelled (dropped with their subscription, which the "
            "recipient cancelled or which ended with its job); dead-lettered.",
            ["outcome"],
            registry=self.registry,
        )
        self._byOutcome = {
            outcome: self._deliveries.labels(outcome) for outcome in OUTCOMES
        }
        self._latency = _LatencyHistogram(
            "ipp_ntfy_delivery_latency_seconds",
            "Seconds from when an event was queued to when its delivery was known.",
            latencyBuckets,
        )
        self.registry.register(self._latency)
        self._upstreamErrors = Counter(
            "ipp_ntfy_upstream_poll_errors",
            "Failed requests to an upstream printer or CUPS server (unreachable, "
            "timed out, refused, unusable answer).",
            ["upstream"],
            registry=self.registry,
        )
        self._store = _StoreCollector()
        self.registry.register(self._store)

    # -- IRelayObserver ------------------------------------------------------------

    def eventsReceived(self, source: str, count: int) -> None:
        self._received.labels(withoutUserInfo(source)).inc(count)

    def eventsDelivered(self, latencies: Sequence[float]) -> None:
        self._byOutcome["delivered"].inc(len(latencies))
        self._latency.observe(latencies)

    def eventsNotDelivered(self, outcome: str, count: int) -> None:
        counter = self._byOutcome.get(outcome)
        if counter is None:
            counter = self._byOutcome[outcome] = self._deliveries.labels(outcome)
        counter.inc(count)

    def upstreamPollFailed(self, upstreamUri: str) -> None:
        self._upstreamErrors.labels(withoutUserInfo(upstreamUri)).inc()

    # -- the text ------------------------------------------------------------------

    def render(self, stats: Optional[QueueStats], now: float) -> bytes:
        """
        The metrics in the Prometheus text format.

        @param stats: the store's figures (L{ISubscriptionStore.queueStats}), or
            C{None} to leave the store's gauges without samples.
        @param now: the time the store's figures are of, to tell the age of the
            oldest queued events.
        """
        self._store.stats, self._store.now = stats, now
        try:
            return generate_latest(_WithoutCreated(self.registry))
        finally:
            self._store.stats = None


class _WithoutCreated:
    """
    A registry's metrics without their C{_created} samples: those tell when a
    series was made by the wall clock (not the relay's clock), and a scraper
    has no use for them in the text format.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            metric.samples = [
                sample
                for sample in metric.samples
                if not sample.name.endswith("_created")
            ]
            yield metric


class MetricsResource(Resource):
    """
    C{GET /metrics}: L{RelayMetrics} in the Prometheus text format, with the
    store's figures as they are when asked.  The store is read without blocking
    the reactor; the answer is written once it has answered.  When the store
    fails (or is closed), the answer is a 503.

    @param metrics: the L{RelayMetrics}.
    @param store: the L{ISubscriptionStore} to read the figures from.
    @param clock: the L{IReactorTime} giving the time of the figures.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self, metrics: RelayMetrics, store: ISubscriptionStore, clock: IReactorTime
    ) -> None:
        super().__init__()
        self.metrics = metrics
        self.store = store
        self.clock = clock

    def render_GET(self, request: Request) -> Any:
        now = self.clock.seconds()
        gone: List[Failure] = []

        def lost(reason: Failure) -> None:
            gone.append(reason)

        request.notifyFinish().addErrback(lost)

        def answer(stats: QueueStats) -> None:
            body = self.metrics.render(stats, now)
            if gone:
                return
            request.setHeader(b"Content-Type", CONTENT_TYPE)
            request.setHeader(b"Content-Length", b"%d" % (len(body),))
            request.write(body)
            request.finish()

        def failed(failure: Failure) -> None:
            self.log.failure("answering /metrics failed", failure)
            if gone:
                return
            body = b"the store could not be read\n"
            request.setResponseCode(503)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            request.setHeader(b"Content-Length", b"%d" % (len(body),))
            request.write(body)
            request.finish()

        self.store.queueStats(now).addCallback(answer).addErrback(failed)
        return NOT_DONE_YET


__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "OUTCOMES",
    "MetricsResource",
    "RelayMetrics",
]
