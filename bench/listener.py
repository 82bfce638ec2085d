"""
Listener and delivery client throughput, side by side in one run, with wrk.

1. One event per POST: a plain twisted.web Site (default settings, a resource
   answering a canned IPP response) against ipp_ntfy's NotificationFactory
   (full decode, a sink answering succeed(0), a per-report answer): requests/s
   and server CPU seconds per request (utime + stime from /proc/<pid>/stat).
2. 50 events per POST: events/s of NotificationFactory, and of the twisted.web
   front end (NotificationSite + NotificationListener) for comparison.
3. The delivery client against a canned fast server (a raw Twisted protocol in
   its own process): HttpDeliveryMethod.deliver with 50 events a call against a
   plain twisted.web.client.Agent sending one event a request; same persistent
   pool size and number of concurrent deliveries.

Servers run pinned to CPU 0 and wrk (or the client's canned server) to CPU 1,
where taskset exists.  Rounds are interleaved (A, B, A, B...); medians are shown.

    python3 bench/listener.py             # 3 rounds, 5 s each; about 2 minutes
    python3 bench/listener.py --quick     # 1 round, 2 s each
    python3 bench/listener.py --json out.json --duration 8 --rounds 5
    python3 bench/listener.py --compare /tmp/old --only factory50

--compare DIR also runs the 50-event NotificationFactory of another checkout
(DIR, e.g. a git worktree of an earlier commit) in each round, right after this
tree's, with the same server script and sink; --only keeps some of the runs
(plain1, factory1, factory50, site50, deliverOurs, deliverAgent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ipp_ntfy.ipp import encode  # noqa: E402
from ipp_ntfy.notification import Event, buildReport  # noqa: E402

RECIPIENT = "http://127.0.0.1:8632/notify"
CONCURRENCY = 4
CONNECTIONS = 8
TICKS = os.sysconf("SC_CLK_TCK")

# A server: argv = kind (plain | factory | site | canned); prints its port.
SERVER = r'''
import sys
sys.path.insert(0, ROOT)
from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.internet.protocol import Factory, Protocol
from twisted.web.resource import Resource
from twisted.web.server import Site
from zope.interface import implementer
from ipp_ntfy.interfaces import INotificationSink
from ipp_ntfy.listener import (
    NotificationFactory, NotificationListener, NotificationSite)
from ipp_ntfy.service import resourceAt

CANNED = (b"\x01\x00\x00\x00\x00\x00\x00\x05\x01"
          b"\x47\x00\x12attributes-charset\x00\x05utf-8"
          b"\x48\x00\x1battributes-natural-language\x00\x02en\x03")

try:
    from ipp_ntfy.interfaces import IBatchNotificationSink
except ImportError:  # an older checkout (--compare)
    IBatchNotificationSink = INotificationSink

@implementer(IBatchNotificationSink)
class Sink:
    def receive(self, event):
        return succeed(0)
    def receiveMany(self, events):
        return [0] * len(events)

class Plain(Resource):
    isLeaf = True
    def render_POST(self, request):
        request.content.read()
        request.setHeader(b"content-type", b"application/ipp")
        return CANNED

class Canned(Protocol):
    """Answers every POST with successful-ok, the request's request-id."""
    buffer = b""
    def dataReceived(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15:stop if stop > 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            answer = CANNED[:4] + body[4:8] + CANNED[8:]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))

kind = sys.argv[1]
if kind == "plain":
    factory = Site(Plain())
elif kind == "factory":
    factory = NotificationFactory(NotificationListener(Sink()))
elif kind == "site":
    factory = NotificationSite(resourceAt("/notify", NotificationListener(Sink())))
else:
    factory = Factory.forProtocol(Canned)
    factory.noisy = False
port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=1024)
print(port.getHost().port, flush=True)
reactor.run()
'''

# A delivery client: argv = mode (ours | agent), port, seconds, warmup seconds.
CLIENT = r"""
import json, sys, time
sys.path.insert(0, ROOT)
from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer
from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.ipp import encode
from ipp_ntfy.notification import Event, buildReport

mode, port = sys.argv[1], int(sys.argv[2])
seconds, warmup = float(sys.argv[3]), float(sys.argv[4])
uri = "http://127.0.0.1:%d/notify" % port

def makeEvent(sequence):
    return Event(source="bench", subscriptionId=7, sequenceNumber=sequence,
                 event="job-completed", printerUri="ipp://printer.example/ipp/print",
                 jobId=42, jobState=9, jobStateReasons=("job-completed-successfully",),
                 printerUpTime=1000 + sequence, text="Job completed.")

events = [makeEvent(n) for n in range(1, 51)]
body = encode(buildReport(events[:1], uri, requestId=5))

@implementer(IBodyProducer)
class Bytes:
    def __init__(self, data):
        self.data = data
        self.length = len(data)
    def startProducing(self, consumer):
        consumer.write(self.data)
        return succeed(None)
    def pauseProducing(self):
        pass
    def resumeProducing(self):
        pass
    def stopProducing(self):
        pass

state = {"events": 0, "errors": 0, "start": None, "cpu": None, "end": None}

def mark():
    state["events"] = 0
    state["errors"] = 0
    state["start"] = time.monotonic()
    state["cpu"] = time.process_time()

def finish():
    state["end"] = time.monotonic()
    state["cpuEnd"] = time.process_time()
    reactor.stop()

if mode == "ours":
    method = HttpDeliveryMethod(reactor)
    def loop(_=None):
        if state["end"] is not None:
            return
        def done(outcomes):
            if state["end"] is not None:
                return  # cut off by the stop
            delivered = sum(1 for o in outcomes if o.delivered)
            state["events"] += delivered
            state["errors"] += len(outcomes) - delivered
        method.deliver(uri, events).addCallback(done).addBoth(loop)
else:
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = CONCURRENCY
    pool.retryAutomatically = False
    agent = Agent(reactor, pool=pool)
    headers = Headers({b"content-type": [b"application/ipp"]})
    def loop(_=None):
        if state["end"] is not None:
            return
        def done(response):
            def read(answer):
                if state["end"] is not None:
                    return
                if response.code == 200 and answer[4:8] == body[4:8]:
                    state["events"] += 1
                else:
                    state["errors"] += 1
            return readBody(response).addCallback(read)
        def failed(failure):
            if state["end"] is None:
                state["errors"] += 1
        d = agent.request(b"POST", uri.encode("ascii"), headers, Bytes(body))
        d.addCallback(done).addErrback(failed).addBoth(loop)

for _ in range(CONCURRENCY):
    reactor.callWhenRunning(loop)
reactor.callLater(warmup, mark)
reactor.callLater(warmup + seconds, finish)
reactor.run()
elapsed = state["end"] - state["start"]
cpu = state["cpuEnd"] - state["cpu"]
print(json.dumps({"rate": state["events"] / elapsed, "errors": state["errors"],
                  "cpuPerEvent": cpu / max(1, state["events"])}))
"""


def makeEvent(sequence: int) -> Event:
    return Event(
        source="bench",
        subscriptionId=7,
        sequenceNumber=sequence,
        event="job-completed",
        printerUri="ipp://printer.example/ipp/print",
        jobId=42,
        jobState=9,
        jobStateReasons=("job-completed-successfully",),
        printerUpTime=1000 + sequence,
        text="Job completed.",
    )


def reportBody(count: int) -> bytes:
    events = [makeEvent(sequence) for sequence in range(1, count + 1)]
    return encode(buildReport(events, RECIPIENT, requestId=5))


def luaString(body: bytes) -> str:
    """
    C{body} as a Lua string literal (every octet escaped).
    """
    return '"' + "".join(f"\\{octet:03d}" for octet in body) + '"'


def luaScript(body: bytes) -> str:
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/ipp"\n'
        f"wrk.body = {luaString(body)}\n"
    )


def variedLuaScript(bodies: List[bytes]) -> str:
    """
    A wrk script that posts C{bodies} in turn, each request the next one.
    """
    literals = ",\n".join(map(luaString, bodies))
    return (
        "local bodies = {\n" + literals + "\n}\n"
        "local n = 0\n"
        'local headers = {["Content-Type"] = "application/ipp"}\n'
        "request = function()\n"
        "  n = n % #bodies + 1\n"
        '  return wrk.format("POST", nil, headers, bodies[n])\n'
        "end\n"
    )


def pinned(cpu: int, argv: List[str]) -> List[str]:
    if shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def cpuSeconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15, the 12th and 13th after the ")".
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    """A server script in its own process, pinned to C{cpu}."""

    def __init__(
        self, tmp: str, kind: str, cpu: int, script: str = "server.py"
    ) -> None:
        self.process = subprocess.Popen(
            pinned(cpu, [sys.executable, os.path.join(tmp, script), kind]),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {kind} server did not start")
        self.port = int(line)

    def cpu(self) -> float:
        return cpuSeconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def wrk(port: int, lua: str, seconds: float) -> Tuple[float, int]:
    """
    @return: requests/s and the number of requests that did not get a 2xx.
    """
    out = subprocess.run(
        pinned(
            1,
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                lua,
                f"http://127.0.0.1:{port}/notify",
            ],
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise SystemExit("cannot read wrk's output:\n" + out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    failures = int(bad.group(1)) if bad else 0
    if errors:
        failures += sum(int(n) for n in re.findall(r"\d+", errors.group(0)))
    return float(rate.group(1)), failures


def serverRun(
    tmp: str,
    kind: str,
    lua: str,
    seconds: float,
    warmup: float,
    script: str = "server.py",
) -> Dict[str, float]:
    server = Server(tmp, kind, 0, script)
    try:
        wrk(server.port, lua, warmup)
        before = server.cpu()
        rate, failures = wrk(server.port, lua, seconds)
        cpu = server.cpu() - before
    finally:
        server.stop()
    if failures:
        raise SystemExit(f"{kind}: {failures} requests failed")
    return {"rate": rate, "cpuPerRequest": cpu / (rate * round(seconds))}


def clientRun(tmp: str, mode: str, seconds: float, warmup: float) -> Dict[str, float]:
    server = Server(tmp, "canned", 1)
    try:
        out = subprocess.run(
            pinned(
                0,
                [
                    sys.executable,
                    os.path.join(tmp, "client.py"),
                    mode,
                    str(server.port),
                    str(seconds),
                    str(warmup),
                ],
            ),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.stop()
    result: Dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"delivery {mode}: {result['errors']} errors")
    return result


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "NOT met"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 2 s runs")
    parser.add_argument("--duration", type=float, help="seconds per run (5)")
    parser.add_argument("--rounds", type=int, help="rounds (3)")
    parser.add_argument("--json", metavar="FILE", help="save every sample")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        help="also run the 50-event NotificationFactory of the checkout in DIR",
    )
    parser.add_argument(
        "--only", metavar="RUNS", help="comma-separated runs to keep (all)"
    )
    parser.add_argument(
        "--varied",
        action="store_true",
        help="also run the 50-event NotificationFactory on 100 different reports"
        " as the relay sends them (bench/listenerloop.py's), in turn",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    seconds = args.duration or (2.0 if args.quick else 5.0)
    rounds = args.rounds or (1 if args.quick else 3)
    warmup = 1.0

    tmp = tempfile.mkdtemp(prefix="ipp-ntfy-listener-bench-")
    prelude = f"ROOT = {ROOT!r}\nCONCURRENCY = {CONCURRENCY}\n"
    with open(os.path.join(tmp, "server.py"), "w") as f:
        f.write(prelude + SERVER)
    with open(os.path.join(tmp, "client.py"), "w") as f:
        f.write(prelude + CLIENT)
    if args.compare:
        other = os.path.abspath(args.compare)
        with open(os.path.join(tmp, "server-compare.py"), "w") as f:
            f.write(f"ROOT = {other!r}\nCONCURRENCY = {CONCURRENCY}\n" + SERVER)
    one = os.path.join(tmp, "one.lua")
    fifty = os.path.join(tmp, "fifty.lua")
    with open(one, "w") as f:
        f.write(luaScript(reportBody(1)))
    with open(fifty, "w") as f:
        f.write(luaScript(reportBody(50)))
    varied = os.path.join(tmp, "varied.lua")
    if args.varied:
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        from listenerloop import variedBodies

        with open(varied, "w") as f:
            f.write(variedLuaScript(variedBodies(50, 100)))

    samples: Dict[str, List[Dict[str, float]]] = {
        name: []
        for name in (
            "plain1",
            "factory1",
            "factory50",
            "site50",
            "deliverOurs",
            "deliverAgent",
            "factory50Compare",
            "factory50Varied",
        )
    }
    loads: List[float] = []
    runs: List[Tuple[str, Any]] = [
        ("plain1", lambda: serverRun(tmp, "plain", one, seconds, warmup)),
        ("factory1", lambda: serverRun(tmp, "factory", one, seconds, warmup)),
        ("factory50", lambda: serverRun(tmp, "factory", fifty, seconds, warmup)),
        (
            "factory50Compare",
            lambda: serverRun(
                tmp, "factory", fifty, seconds, warmup, "server-compare.py"
            ),
        ),
        (
            "factory50Varied",
            lambda: serverRun(tmp, "factory", varied, seconds, warmup),
        ),
        ("site50", lambda: serverRun(tmp, "site", fifty, seconds, warmup)),
        ("deliverOurs", lambda: clientRun(tmp, "ours", seconds, warmup)),
        ("deliverAgent", lambda: clientRun(tmp, "agent", seconds, warmup)),
    ]
    kept = set(args.only.split(",")) if args.only else set(samples)
    if not args.varied:
        kept.discard("factory50Varied")
    if not args.compare:
        kept.discard("factory50Compare")
    elif "factory50" in kept:
        kept.add("factory50Compare")
    runs = [(name, run) for name, run in runs if name in kept]
    try:
        for round_ in range(1, rounds + 1):
            for name, run in runs:
                loads.append(os.getloadavg()[0])
                result = run()
                samples[name].append(result)
                print(
                    f"round {round_} {name}: "
                    + ", ".join(f"{k} {v:.6g}" for k, v in result.items()),
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[name])

    def ratios(a: str, b: str, key: str) -> float:
        # Median of the per-round ratios: each pair ran side by side.
        return statistics.median(
            x[key] / y[key] for x, y in zip(samples[a], samples[b])
        )

    rows: List[Tuple[str, str, str, str]] = []

    def have(*names: str) -> bool:
        return all(samples[name] for name in names)

    if have("plain1", "factory1"):
        plain, ours = med("plain1", "rate"), med("factory1", "rate")
        reqRatio = ratios("factory1", "plain1", "rate")
        cpuPlain = med("plain1", "cpuPerRequest") * 1e6
        cpuOurs = med("factory1", "cpuPerRequest") * 1e6
        cpuRatio = ratios("plain1", "factory1", "cpuPerRequest")
        rows += [
            ("1 event/POST: plain twisted.web Site, req/s", f"{plain:,.0f}", "", ""),
            ("1 event/POST: NotificationFactory, req/s", f"{ours:,.0f}", "", ""),
            (
                "  ratio ours/plain (req/s)",
                f"{reqRatio:.2f}",
                "≥ 2",
                verdict(reqRatio, 2),
            ),
            (
                "  server CPU µs/request, plain / ours",
                f"{cpuPlain:.1f} / {cpuOurs:.1f}",
                "",
                "",
            ),
            (
                "  ratio plain/ours (CPU per request)",
                f"{cpuRatio:.2f}",
                "≥ 2",
                verdict(cpuRatio, 2),
            ),
        ]

    def eventsRate(name: str) -> Tuple[float, str]:
        """
        The events/s of a 50-event run, and that with its CPU per event.
        """
        rate = med(name, "rate") * 50
        perEvent = med(name, "cpuPerRequest") / 50 * 1e6
        return rate, f"{rate:,.0f} ({perEvent:.2f} CPU µs/event)"

    if have("factory50"):
        f50, shown = eventsRate("factory50")
        rows.append(
            (
                "50 events/POST: NotificationFactory, events/s",
                shown,
                "≥ 150,000",
                verdict(f50, 150_000),
            )
        )
    if have("factory50Varied"):
        rows.append(
            (
                "  the same, 100 reports as the relay sends them, in turn",
                eventsRate("factory50Varied")[1],
                "",
                "",
            )
        )
    if have("factory50", "factory50Compare"):
        c50 = med("factory50Compare", "rate") * 50
        c50cpu = med("factory50Compare", "cpuPerRequest") / 50 * 1e6
        rows += [
            (
                f"50 events/POST: NotificationFactory of {args.compare}, events/s",
                f"{c50:,.0f} ({c50cpu:.2f} CPU µs/event)",
                "",
                "",
            ),
            (
                "  ratio this/compared (events/s)",
                f"{ratios('factory50', 'factory50Compare', 'rate'):.2f}",
                "",
                "",
            ),
            (
                "  ratio compared/this (CPU per event)",
                f"{ratios('factory50Compare', 'factory50', 'cpuPerRequest'):.2f}",
                "",
                "",
            ),
        ]
    if have("site50"):
        s50 = med("site50", "rate") * 50
        s50cpu = med("site50", "cpuPerRequest") / 50 * 1e6
        rows.append(
            (
                "50 events/POST: NotificationSite (twisted.web), events/s",
                f"{s50:,.0f} ({s50cpu:.2f} CPU µs/event)",
                "",
                "",
            )
        )
    if have("deliverOurs", "deliverAgent"):
        dOurs, dAgent = med("deliverOurs", "rate"), med("deliverAgent", "rate")
        dRatio = ratios("deliverOurs", "deliverAgent", "rate")
        dOursCpu = med("deliverOurs", "cpuPerEvent") * 1e6
        dAgentCpu = med("deliverAgent", "cpuPerEvent") * 1e6
        rows += [
            (
                "delivery: HttpDeliveryMethod.deliver, 50/call, events/s",
                f"{dOurs:,.0f} ({dOursCpu:.1f} client CPU µs/event)",
                "",
                "",
            ),
            (
                "delivery: plain Agent, 1 event/request, events/s",
                f"{dAgent:,.0f} ({dAgentCpu:.1f} client CPU µs/event)",
                "",
                "",
            ),
            (
                "  ratio ours/Agent (events/s)",
                f"{dRatio:.2f}",
                "≥ 3",
                verdict(dRatio, 3),
            ),
        ]
    print()
    print(
        f"{rounds} round(s) of {seconds:g} s, medians; ratios are medians of "
        f"per-round ratios; load average {min(loads):.1f} to {max(loads):.1f}"
    )
    print("| | median | target | |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "rounds": rounds,
                    "seconds": seconds,
                    "loads": loads,
                    "samples": samples,
                    "time": time.time(),
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
