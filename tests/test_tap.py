"""
C{twistd ipp-ntfy}: the dropin, the options and the services they build.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from twisted.application.service import IServiceMaker
from twisted.internet import reactor as _reactor
from twisted.internet.defer import inlineCallbacks
from twisted.plugin import getPlugins
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ipp_ntfy import tap
from ipp_ntfy.delivery import HttpDeliveryMethod

from .test_listener import makeEvent

reactor: Any = _reactor
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PluginTests(SynchronousTestCase):
    def test_found(self) -> None:
        """
        Twisted's plugin system finds the ipp-ntfy service maker.
        """
        makers = [m for m in getPlugins(IServiceMaker) if m.tapname == "ipp-ntfy"]
        self.assertEqual(len(makers), 1)
        maker = makers[0]
        self.assertTrue(IServiceMaker.providedBy(maker))
        self.assertIsInstance(maker.options(), tap.Options)


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(argv))
        return options

    def test_listenDefaults(self) -> None:
        options = self.parse("listen")
        sub = options.subOptions
        self.assertEqual(sub["listen"], ["tcp:8632"])
        self.assertEqual(sub["path"], "/notify")
        self.assertEqual(sub["output"], "-")
        self.assertEqual(sub["min-tls"], "1.2")

    def test_repeatableListen(self) -> None:
        sub = self.parse("listen", "--listen", "tcp:1", "-l", "tcp:2").subOptions
        self.assertEqual(sub["listen"], ["tcp:1", "tcp:2"])

    def test_noCommand(self) -> None:
        self.assertRaises(UsageError, self.parse)

    def test_unwritableOutput(self) -> None:
        """
        An --output that cannot be opened is a usage error (twistd prints it
        without a traceback).
        """
        error = self.assertRaises(
            UsageError, self.parse, "listen", "--output", "/nonexistent/dir/x.jsonl"
        )
        self.assertIn("cannot open --output /nonexistent/dir/x.jsonl", str(error))

    def test_badOptions(self) -> None:
        self.assertRaises(UsageError, self.parse, "listen", "--path", "notify")
        self.assertRaises(UsageError, self.parse, "listen", "--min-tls", "1.0")
        self.assertRaises(UsageError, self.parse, "listen", "--max-body", "10")

    def test_helpExplainsEveryOption(self) -> None:
        text = str(tap.ListenOptions())
        for option in (
            "--listen",
            "--path",
            "--output",
            "--max-body",
            "--request-timeout",
            "--idle-timeout",
            "--min-tls",
            "--client-ca",
        ):
            self.assertIn(option, text)
        self.assertIn("default: tcp:8632", text.replace("(default:", "default:"))


class ServiceTests(TestCase):
    @inlineCallbacks
    def test_makeServiceListensAndWrites(self):
        """
        makeService builds a listener that writes one JSON line per event.
        """
        options = tap.Options()
        options.parseOptions(["listen", "--listen", "tcp:0:interface=127.0.0.1"])
        output = io.StringIO()
        service: Any = tap.makeService(options, stdout=output)
        service.startService()
        self.addCleanup(service.stopService)
        [port] = yield service.endpoints.listening
        method = HttpDeliveryMethod(reactor)
        self.addCleanup(method.pool.closeCachedConnections)
        outcomes = yield method.deliver(
            f"http://127.0.0.1:{port.getHost().port}/notify",
            [makeEvent(1), makeEvent(2)],
        )
        self.assertTrue(all(o.delivered for o in outcomes))
        lines = [json.loads(line) for line in output.getvalue().splitlines()]
        self.assertEqual([line["notify-sequence-number"] for line in lines], [1, 2])


# twistd, run from this interpreter (the script on PATH may belong to another).
TWISTD = [
    sys.executable,
    "-c",
    "import sys; sys.argv[0] = 'twistd'; from twisted.scripts.twistd import run; run()",
]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + sys.path))


class TwistdTests(SynchronousTestCase):
    """
    The real command: twistd -n ipp-ntfy listen, in a child process.
    """

    def test_helpCommands(self) -> None:
        for argv in (["ipp-ntfy", "--help"], ["ipp-ntfy", "listen", "--help"]):
            result = subprocess.run(
                [*TWISTD, *argv],
                capture_output=True,
                env=_env(),
                timeout=60,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(b"listen", result.stdout)

    def test_listenThenSend(self) -> None:
        """
        twistd -n ipp-ntfy listen logs where it listens, takes an event from
        ipp-ntfy send, writes it, and stops cleanly on SIGTERM.
        """
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        output = os.path.join(workdir, "events.jsonl")
        twistd = subprocess.Popen(
            [
                *TWISTD,
                "-n",
                "--pidfile=",
                "ipp-ntfy",
                "listen",
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--output",
                output,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=workdir,
        )
        try:
            port = None
            deadline = time.monotonic() + 30
            log = b""
            assert twistd.stdout is not None
            while port is None and time.monotonic() < deadline:
                line = twistd.stdout.readline()
                if not line:
                    break
                log += line
                if b"listening on" in line:
                    port = int(line.rsplit(b":", 1)[1].rstrip(b")\r\n"))
            self.assertIsNotNone(port, log)
            sent = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ipp_ntfy",
                    "send",
                    f"http://127.0.0.1:{port}/notify",
                    "--event",
                    "printer-stopped",
                    "--sequence",
                    "9",
                ],
                capture_output=True,
                env=_env(),
                timeout=60,
            )
            self.assertEqual(sent.returncode, 0, sent.stderr)
            self.assertEqual(sent.stdout, b"delivered: successful-ok (0x0000)\n")
            with open(output) as f:
                event = json.loads(f.readline())
            self.assertEqual(event["notify-subscribed-event"], "printer-stopped")
            self.assertEqual(event["notify-sequence-number"], 9)
        finally:
            twistd.send_signal(signal.SIGTERM)
            rest, _ = twistd.communicate(timeout=30)
        # twistd ends by re-raising the signal it was stopped with.
        self.assertIn(twistd.returncode, (0, -signal.SIGTERM), log + rest)
        self.assertIn(b"Received SIGTERM, shutting down.", rest)
        self.assertIn(b"Server Shut Down.", rest)


class SendCommandTests(SynchronousTestCase):
    def test_refusedIsNotDelivered(self) -> None:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ipp_ntfy",
                "send",
                "http://127.0.0.1:9/x",
                "--json",
            ],
            capture_output=True,
            env=_env(),
            timeout=60,
        )
        self.assertEqual(result.returncode, 1)
        outcome = json.loads(result.stdout)
        self.assertEqual(outcome["outcome"], "retry")
        self.assertFalse(outcome["delivered"])

    def test_badUri(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "ipp_ntfy", "send", "mailto:x@y"],
            capture_output=True,
            env=_env(),
            timeout=60,
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"unsupported scheme", result.stderr)
