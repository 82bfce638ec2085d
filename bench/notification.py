"""
Notification benchmark: the cost of reading and answering reports with
L{ipp_ntfy.notification}, on top of decoding them.

    python3 bench/notification.py [--rounds N] [--json FILE]

Workloads:

  - C{report50}: the 50-event Report-Ipp-Notifications body of the listener tests
    (C{tests.test_listener.reportBody(50)}, about 18 KB).
  - C{cups17}: the 17 events cupsd wrote on a notifier's standard input
    (C{tests/vectors/cups-2.4.2-notifier-stdin-stream.bin}), wrapped in one report
    with L{buildReport}.
  - C{cups}: the single CUPS job-completed event as a notifier reads it
    (C{tests/vectors/cups-2.4.2-notifier-event-job-completed.ipp}).

Every parse is timed on a freshly decoded message (decoded before the clock
starts), so that the lazily built attributes of its groups are part of what is
measured, as they are in a listener.  C{endToEnd} is decode, L{parseReport},
L{buildResponse} (all consumed) and encode of the response.  Each figure is the
median over rounds of the mean time per call, in microseconds, with the best round
beside it (the machine may be busy); garbage collection is off while a round runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Benchmark the checkout this file is in, not whatever copy is installed.
sys.path.insert(0, str(ROOT))

from ipp_ntfy.ipp import Group, Message, MessageStream, decode, encode  # noqa: E402
from ipp_ntfy.notification import (  # noqa: E402
    Event,
    ReportRequest,
    buildReport,
    buildResponse,
    eventFromNotifierMessage,
    parseReport,
)
from tests.test_listener import reportBody  # noqa: E402

VECTORS = ROOT / "tests" / "vectors"
SOURCE = "bench"
RECIPIENT = "http://127.0.0.1:8632/notify"

T = TypeVar("T")
Timing = Tuple[float, float]


def timed(
    prepare: Callable[[int], Sequence[T]],
    run: Callable[[T], object],
    rounds: int,
    calls: int,
) -> Timing:
    """
    @param prepare: makes the C{calls} inputs of one round (not timed).
    @param run: the timed call, once per input.
    @return: the median and the minimum over C{rounds} of the mean time per call,
        in microseconds.
    """
    times: List[float] = []
    for _ in range(rounds):
        inputs = prepare(calls)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            for item in inputs:
                run(item)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        times.append(elapsed / calls * 1e6)
    return statistics.median(times), min(times)


def repeated(item: T) -> Callable[[int], List[T]]:
    """
    @return: a C{prepare} giving C{item} every time.
    """
    return lambda count: [item] * count


def decodedMessages(body: bytes) -> Callable[[int], List[Message]]:
    """
    @return: a C{prepare} giving fresh decodes of C{body}.
    """
    return lambda count: [decode(body) for _ in range(count)]


def decodedGroups(body: bytes) -> Callable[[int], List[Group]]:
    """
    @return: a C{prepare} giving the first group of fresh decodes of C{body}.
    """
    return lambda count: [decode(body).groups[0] for _ in range(count)]


def parse(message: Message) -> ReportRequest:
    return parseReport(message, source=SOURCE)


def fromGroup(group: Group) -> Event:
    return Event.fromGroup(group, source=SOURCE)


def fromNotifier(message: Message) -> Event:
    return eventFromNotifierMessage(message, source=SOURCE)


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def cupsEvents() -> List[Event]:
    stream = MessageStream()
    messages = stream.feed(vector("cups-2.4.2-notifier-stdin-stream.bin"))
    stream.close()
    return [fromNotifier(message) for message in messages]


def measureReport(name: str, body: bytes, rounds: int) -> Dict[str, Timing]:
    """
    @return: the timings of reading and answering the report C{body}, by name.
    """
    request = parse(decode(body))
    count = len(request.events)
    statuses = [0] * count
    response = buildResponse(request, statuses)
    report = buildReport(request.events, RECIPIENT, 1)

    def answer(request: ReportRequest) -> Message:
        return buildResponse(request, statuses)

    def endToEnd(body: bytes) -> bytes:
        return encode(buildResponse(parse(decode(body)), statuses))

    def build(events: Sequence[Event]) -> Message:
        return buildReport(events, RECIPIENT, 1)

    results = {
        "decode": timed(repeated(body), decode, rounds, 200),
        "parseReport": timed(decodedMessages(body), parse, rounds, 200),
        "buildResponse": timed(repeated(request), answer, rounds, 200),
        "encode(response)": timed(repeated(response), encode, rounds, 200),
        "endToEnd": timed(repeated(body), endToEnd, rounds, 200),
        "buildReport": timed(repeated(request.events), build, rounds, 200),
        "encode(report)": timed(repeated(report), encode, rounds, 50),
    }
    for step in ("parseReport", "endToEnd"):
        median, best = results[step]
        results[f"{step}/event"] = (median / count, best / count)
    return {f"{name}.{step}": timing for step, timing in results.items()}


def measure(rounds: int) -> Dict[str, Timing]:
    """
    @return: the timings of every step, by name.
    """
    results: Dict[str, Timing] = {}
    results.update(measureReport("report50", reportBody(50), rounds))
    cups17 = encode(buildReport(cupsEvents(), RECIPIENT, 1))
    results.update(measureReport("cups17", cups17, rounds))
    jobCompleted = vector("cups-2.4.2-notifier-event-job-completed.ipp")
    results["cups.fromGroup"] = timed(
        decodedGroups(jobCompleted), fromGroup, rounds, 2000
    )
    results["cups.eventFromNotifierMessage"] = timed(
        decodedMessages(jobCompleted), fromNotifier, rounds, 2000
    )
    event = fromNotifier(decode(jobCompleted))
    results["cups.fromGroup(toGroup())"] = timed(
        repeated(event.toGroup()), fromGroup, rounds, 2000
    )
    return results


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args(argv)
    results = measure(options.rounds)
    print(f"Python {sys.version.split()[0]}, {options.rounds} rounds, us per call")
    print(f"{'':38} {'median':>10} {'best':>10}")
    for name, (median, best) in results.items():
        print(f"{name:38} {median:10.2f} {best:10.2f}")
    median, best = results["report50.endToEnd/event"]
    rates = f"{1e6 / median:10.0f} {1e6 / best:10.0f}"
    print(f"{'report50 events/s end to end':38} {rates}")
    if options.json:
        with open(options.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
