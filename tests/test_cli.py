"""
The C{ipp-ntfy decode} command.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.__main__ import main

from .vectors import VECTORS, vector

EVENT = "cups-2.4.2-notifier-event-job-completed.ipp"


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out = io.StringIO()
    err = io.StringIO()
    status = main(list(argv), io.BytesIO(stdin), out, err)
    return status, out.getvalue(), err.getvalue()


class DecodeCommandTests(SynchronousTestCase):
    def test_readable(self) -> None:
        """
        The dump shows the header, each group and one line per attribute with its
        syntax, and names enums.
        """
        status, out, err = run("decode", str(VECTORS / EVENT))
        self.assertEqual((status, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0], "IPP/2.0 successful-ok (0x0000) request-id 0")
        self.assertEqual(lines[1], "event-notification-attributes-tag")
        self.assertIn("  notify-subscribed-event (keyword) = job-completed", lines)
        self.assertIn("  job-state (enum) = 9 (completed)", lines)
        self.assertIn("  notify-user-data (octetString) = 'push-sub'", lines)
        self.assertEqual(lines[-1], "end-of-attributes-tag")

    def test_requestNamesOperation(self) -> None:
        status, out, _ = run(
            "decode", str(VECTORS / "ipptool-2.4.2-get-notifications-request.ipp")
        )
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("IPP/2.0 Get-Notifications (0x001c) request-id"))
        self.assertIn("notify-subscription-ids (integer) = ", out)

    def test_json(self) -> None:
        status, out, _ = run("decode", "--json", str(VECTORS / EVENT))
        self.assertEqual(status, 0)
        document = json.loads(out)
        self.assertEqual(document["version"], "2.0")
        self.assertEqual(document["status"], "successful-ok")
        group = document["groups"][0]
        self.assertEqual(group["tag"], "event-notification-attributes-tag")
        byName = {a["name"]: a for a in group["attributes"]}
        self.assertEqual(byName["notify-sequence-number"]["values"], [6])
        self.assertEqual(byName["job-state"]["syntax"], "enum")
        self.assertEqual(
            byName["notify-user-data"]["values"], [{"octets": "cHVzaC1zdWI="}]
        )

    def test_jsonCollections(self) -> None:
        """
        Collections come out as objects of member name to values.
        """
        status, out, _ = run(
            "decode",
            "--json",
            str(VECTORS / "ippserver-3a24f0f-get-printer-attributes-response.ipp"),
        )
        self.assertEqual(status, 0)
        document = json.loads(out)
        attributes = {a["name"]: a for a in document["groups"][1]["attributes"]}
        mediaCol = attributes["media-col-default"]["values"][0]
        self.assertIn("media-size", mediaCol)
        self.assertIn("x-dimension", mediaCol["media-size"][0])

    def test_stdinAndStream(self) -> None:
        """
        --stream reads back-to-back messages, here from standard input.
        """
        stream = vector("cups-2.4.2-notifier-stdin-stream.bin")
        status, out, _ = run("decode", "--stream", "--json", "-", stdin=stream)
        self.assertEqual(status, 0)
        self.assertEqual(len(out.splitlines()), 17)

    def test_badInput(self) -> None:
        """
        A bad message: exit status 1, "error at offset N: reason" on stderr.
        """
        status, out, err = run("decode", "-", stdin=vector(EVENT)[:30])
        self.assertEqual(status, 1)
        self.assertEqual(out, "")
        self.assertEqual(
            err,
            # 9: charset tag, 10: name-length 14, 12: "notify-charset",
            # 26: value-length 5 for "utf-8", of which 2 bytes arrived.
            "error at offset 26: value-length 5 goes past the end of the message "
            "(2 bytes left)\n",
        )

    def test_streamShowsMessagesBeforeTheError(self) -> None:
        stream = vector("cups-2.4.2-notifier-stdin-stream.bin")
        status, out, err = run("decode", "--stream", "-", stdin=stream[:1000])
        self.assertEqual(status, 1)
        self.assertEqual(out.count("end-of-attributes-tag"), 2)
        self.assertTrue(err.startswith("error at offset 1000: "), err)

    def test_missingFile(self) -> None:
        status, _, err = run("decode", "/nonexistent/file.ipp")
        self.assertEqual(status, 1)
        self.assertIn("cannot read /nonexistent/file.ipp", err)

    def test_realProcess(self) -> None:
        """
        Run as a program, bad input gives status 1 and the one-line error, never a
        traceback.
        """
        result = subprocess.run(
            [sys.executable, "-m", "ipp_ntfy", "decode", "-"],
            input=b"\x02\x00\x00\x00\x00\x00\x00\x01\x01\x47\x00",
            capture_output=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        )
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(result.stderr, b"error at offset 10: truncated name-length\n")

    def test_help(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "ipp_ntfy", "decode", "--help"],
            capture_output=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        )
        self.assertEqual(result.returncode, 0)
        for option in (b"--json", b"--stream", b"--lenient"):
            self.assertIn(option, result.stdout)
