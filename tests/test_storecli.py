"""
The C{ipp-ntfy subscriptions}, C{dead-letters} and C{replay} commands, run in a
child process (they run the global reactor) on a real SQLite store.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
from typing import TYPE_CHECKING, Any, List, Tuple

import psycopg
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ipp_ntfy.manager import eventToPayload
from ipp_ntfy.notification import Event
from ipp_ntfy.store.opening import openStore
from ipp_ntfy.store.sqlite import MIGRATIONS
from ipp_ntfy.storecli import ProgressBar, formatTable
from ipp_ntfy.subscription import Subscription

from .postgres import freshDatabase, postgresUrl, server

if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRINTER_A = "ipp://relay/ipp/print/a"
PRINTER_B = "ipp://relay/ipp/print/b"
HOOK_A = "https://app.example/events"
HOOK_B = "http://other.example/hook"
LEASE_END = 2000000000.0
LEASE_END_ISO = "2033-05-18T03:33:20+00:00"
NOW = 1700000000.0


def cli(*argv: str) -> Tuple[int, str, str]:
    """
    Run C{python -m ipp_ntfy ARGV}.

    @return: the exit status, standard output and standard error.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    done = subprocess.run(
        [sys.executable, "-m", "ipp_ntfy", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def payload(event: str, printerUri: str = PRINTER_A) -> bytes:
    return eventToPayload(
        Event(
            source="test",
            subscriptionId=0,
            sequenceNumber=0,
            event=event,
            printerUri=printerUri,
            jobId=7,
            receivedAt=datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc),
        )
    )


class StoreCommandTestsMixin(_Base):
    """
    The commands on a store with:

      1. a push subscription to PRINTER_A (3 events; 1 dead, 2 queued);
      2. a pull subscription to PRINTER_A (1 event in history, none queued);
      3. a push subscription to PRINTER_B (2 events, both dead);
      4. a cancelled push subscription whose dead letter is left.
    """

    def makeDatabase(self) -> str:
        """
        @return: the C{--db} value of a new, empty store.
        """
        raise NotImplementedError()

    def setUp(self) -> Any:
        return Deferred.fromCoroutine(self.build())

    async def build(self) -> None:
        self.db = self.makeDatabase()
        store = await openStore(self.db, reactor)
        try:
            for subscription in [
                Subscription(
                    0,
                    PRINTER_A,
                    ("job-completed",),
                    recipientUri=HOOK_A,
                    leaseExpiresAt=LEASE_END,
                ),
                Subscription(
                    0, PRINTER_A, ("printer-state-changed",), pullMethod="ippget"
                ),
                Subscription(0, PRINTER_B, ("job-completed",), recipientUri=HOOK_B),
                Subscription(0, PRINTER_B, ("job-completed",), recipientUri=HOOK_B),
            ]:
                await store.createSubscription(subscription)
            await store.appendEvents(
                [(1, payload("job-completed"))] * 3
                + [(2, payload("printer-state-changed"))]
                + [(3, payload("job-completed", PRINTER_B))] * 2
                + [(4, payload("job-completed", PRINTER_B))],
                NOW,
            )
            await store.reschedule(1, [1], NOW + 10, "HTTP 503")
            await store.deadLetter(1, [1], "HTTP 503 Service Unavailable", NOW + 100)
            await store.deadLetter(3, [1, 2], "connection refused", NOW + 200)
            await store.deadLetter(4, [1], "connection refused", NOW + 300)
            await store.cancelSubscription(4)
        finally:
            await store.close()

    async def reopen(self) -> Tuple[List[int], List[Tuple[int, int]]]:
        """
        @return: the queue depth of subscriptions 1 to 3, and the
            C{(subscriptionId, sequence)} of each dead letter.
        """
        store = await openStore(self.db, reactor)
        try:
            depths = [await store.queueDepth(sid) for sid in (1, 2, 3)]
            letters = [
                (letter.subscriptionId, letter.sequenceNumber)
                for letter in await store.deadLetters()
            ]
        finally:
            await store.close()
        return depths, letters

    def assertError(self, result: Tuple[int, str, str], status: int, text: str) -> None:
        """
        The command failed with C{status} and one line on standard error that
        holds C{text}, and printed nothing.
        """
        code, out, err = result
        self.assertEqual((code, out), (status, ""), err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn(text, err)
        self.assertNotIn("Traceback", err)

    def test_subscriptionsTable(self) -> None:
        """
        One row per subscription, with the recipient or pull method, the lease
        expiry (or "never"), the last sequence number and the queue depth.
        """
        status, out, err = cli("subscriptions", "--db", self.db)
        self.assertEqual((status, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(
            lines[0].split(),
            ["ID", "PRINTER", "RECIPIENT", "EVENTS", "LEASE", "EXPIRES"]
            + ["LAST", "SEQ", "QUEUED"],
        )
        self.assertEqual(
            [line.split() for line in lines[1:]],
            [
                ["1", PRINTER_A, HOOK_A, "job-completed", LEASE_END_ISO, "3", "2"],
                [
                    "2",
                    PRINTER_A,
                    "pull:",
                    "ippget",
                    "printer-state-changed",
                    "never",
                    "1",
                    "0",
                ],
                ["3", PRINTER_B, HOOK_B, "job-completed", "never", "2", "0"],
            ],
        )
        # Columns line up.
        self.assertEqual(len({line.index(PRINTER_A[:5]) for line in lines[1:]}), 1)

    def test_subscriptionsJSON(self) -> None:
        """
        C{--json} prints one object per subscription; C{--printer} filters.
        """
        status, out, err = cli(
            "subscriptions", "--db", self.db, "--json", "--printer", PRINTER_A
        )
        self.assertEqual((status, err), (0, ""))
        records = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(
            records[0],
            {
                "subscription-id": 1,
                "printer-uri": PRINTER_A,
                "job-id": None,
                "recipient-uri": HOOK_A,
                "pull-method": None,
                "events": ["job-completed"],
                "lease-expires-at": LEASE_END_ISO,
                "last-sequence": 3,
                "queued": 2,
            },
        )
        self.assertEqual(
            [(r["subscription-id"], r["pull-method"]) for r in records],
            [(1, None), (2, "ippget")],
        )

    def test_subscriptionsNone(self) -> None:
        """
        A printer with no subscriptions: says so.
        """
        status, out, err = cli(
            "subscriptions", "--db", self.db, "--printer", "ipp://nowhere/"
        )
        self.assertEqual((status, out, err), (0, "no subscriptions\n", ""))

    def test_deadLettersTable(self) -> None:
        """
        One row per dead letter, by subscription and sequence, with the event
        keyword read from the payload; those of a cancelled subscription too.
        """
        status, out, err = cli("dead-letters", "--db", self.db)
        self.assertEqual((status, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(
            lines[0].split(),
            ["SUB", "SEQ", "EVENT", "RECIPIENT", "ATTEMPTS", "QUEUED", "AT"]
            + ["DEAD", "AT", "LAST", "ERROR"],
        )
        rows = [line.split(None, 7) for line in lines[1:]]
        self.assertEqual(
            [row[:5] for row in rows],
            [
                ["1", "1", "job-completed", HOOK_A, "1"],
                ["3", "1", "job-completed", HOOK_B, "0"],
                ["3", "2", "job-completed", HOOK_B, "0"],
                ["4", "1", "job-completed", HOOK_B, "0"],
            ],
        )
        self.assertEqual(
            rows[0][5:],
            [
                "2023-11-14T22:13:20+00:00",
                "2023-11-14T22:15:00+00:00",
                "HTTP 503 Service Unavailable",
            ],
        )

    def test_deadLettersJSON(self) -> None:
        """
        C{--json} prints one object per dead letter; C{--subscription} filters.
        """
        status, out, err = cli(
            "dead-letters", "--db", self.db, "--subscription", "3", "--json"
        )
        self.assertEqual((status, err), (0, ""))
        records = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(
            records[1],
            {
                "subscription-id": 3,
                "sequence-number": 2,
                "recipient-uri": HOOK_B,
                "attempts": 0,
                "queued-at": "2023-11-14T22:13:20+00:00",
                "dead-at": "2023-11-14T22:16:40+00:00",
                "last-error": "connection refused",
                "event": "job-completed",
            },
        )
        self.assertEqual(len(records), 2)

    def test_deadLettersNone(self) -> None:
        """
        A subscription without dead letters: says so.
        """
        status, out, err = cli("dead-letters", "--db", self.db, "--subscription", "2")
        self.assertEqual((status, out, err), (0, "no dead letters\n", ""))

    def test_deadLettersUnknownSubscription(self) -> None:
        """
        An id that is no subscription and has no dead letters is an error.
        """
        self.assertError(
            cli("dead-letters", "--db", self.db, "--subscription", "99"),
            1,
            "ipp-ntfy: error: no subscription 99",
        )

    async def test_replayHistory(self) -> None:
        """
        C{replay --subscription N} queues the history from C{--from-sequence}
        (default 1) again, except the events still queued.
        """
        status, out, err = cli("replay", "--db", self.db, "--subscription", "1")
        self.assertEqual(
            (status, out, err),
            (0, "queued 1 event of subscription 1 (history from sequence 1)\n", ""),
        )
        status, out, err = cli(
            "replay", "--db", self.db, "--subscription", "1", "--from-sequence", "2"
        )
        self.assertEqual(
            (status, out, err),
            (0, "queued 0 events of subscription 1 (history from sequence 2)\n", ""),
        )
        depths, letters = await self.reopen()
        self.assertEqual(depths, [3, 0, 0])
        self.assertIn((1, 1), letters)

    async def test_replayAllDeadLetters(self) -> None:
        """
        C{replay --dead-letters} queues the dead letters of every push
        subscription that exists, one subscription at a time with progress on
        standard error, and says how many are left.
        """
        status, out, err = cli("replay", "--db", self.db, "--dead-letters")
        self.assertEqual(status, 0, err)
        self.assertEqual(
            out,
            "queued 3 dead letters\n"
            "1 dead letter left: their subscription is gone or is not a push "
            "subscription\n",
        )
        self.assertEqual(
            err.splitlines(),
            [
                "replay: subscription 1: 1 event queued (1/3)",
                "replay: subscription 3: 2 events queued (2/3)",
                "replay: subscription 4: 0 events queued (3/3)",
            ],
        )
        depths, letters = await self.reopen()
        self.assertEqual((depths, letters), ([3, 0, 2], [(4, 1)]))

    async def test_replayDeadLettersOfOne(self) -> None:
        """
        C{replay --dead-letters --subscription N} queues that subscription's,
        with no progress lines.
        """
        status, out, err = cli(
            "replay", "--db", self.db, "--dead-letters", "--subscription", "3"
        )
        self.assertEqual((status, out, err), (0, "queued 2 dead letters\n", ""))
        depths, letters = await self.reopen()
        self.assertEqual((depths, letters), ([2, 0, 2], [(1, 1), (4, 1)]))

    def test_replayUnknownSubscription(self) -> None:
        """
        Replaying an unknown subscription is an error.
        """
        self.assertError(
            cli("replay", "--db", self.db, "--subscription", "99"),
            1,
            "ipp-ntfy: error: no subscription 99",
        )
        self.assertError(
            cli("replay", "--db", self.db, "--dead-letters", "--subscription", "4"),
            1,
            "ipp-ntfy: error: no subscription 4",
        )

    def test_replayPull(self) -> None:
        """
        A pull subscription has nothing to replay.
        """
        self.assertError(
            cli("replay", "--db", self.db, "--subscription", "2"),
            1,
            "ipp-ntfy: error: subscription 2 is not a push subscription",
        )

    def test_badArguments(self) -> None:
        """
        Bad or missing arguments: exit status 2.
        """
        for argv in [
            ("replay", "--db", self.db),
            ("replay", "--db", self.db, "--dead-letters", "--from-sequence", "2"),
            ("replay", "--db", self.db, "--subscription", "one"),
            ("replay", "--db", self.db, "--subscription", "0"),
            ("subscriptions",),
        ]:
            status, out, err = cli(*argv)
            self.assertEqual((status, out), (2, ""), argv)
            self.assertIn("error:", err)
            self.assertNotIn("Traceback", err)


class SQLiteStoreCommandTests(StoreCommandTestsMixin, TestCase):
    """
    The commands on a SQLite store.
    """

    def makeDatabase(self) -> str:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        return os.path.join(directory, "relay.sqlite")


class PostgresStoreCommandTests(StoreCommandTestsMixin, TestCase):
    """
    The commands on a PostgreSQL store, named by URL.
    """

    def makeDatabase(self) -> str:
        return postgresUrl(freshDatabase(self))


class StoreFileErrorTests(SynchronousTestCase):
    """
    Files that are not a usable store: exit status 1, one line, no file made.
    """

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)

    def assertRefused(self, path: str, text: str) -> None:
        for argv in [
            ("subscriptions", "--db", path),
            ("dead-letters", "--db", path),
            ("replay", "--db", path, "--dead-letters"),
        ]:
            status, out, err = cli(*argv)
            self.assertEqual((status, out), (1, ""), err)
            self.assertEqual(err.splitlines(), [f"ipp-ntfy: error: {path}: {text}"])

    def test_missing(self) -> None:
        """
        A missing file is not created.
        """
        path = os.path.join(self.directory, "missing.sqlite")
        self.assertRefused(path, "no such database file")
        self.assertFalse(os.path.exists(path))

    def test_empty(self) -> None:
        """
        An empty file is not made a store.
        """
        path = os.path.join(self.directory, "empty.sqlite")
        open(path, "wb").close()
        self.assertRefused(path, "not an ipp_ntfy store (empty file)")
        self.assertEqual(os.path.getsize(path), 0)

    def test_notSQLite(self) -> None:
        path = os.path.join(self.directory, "text.sqlite")
        with open(path, "wb") as f:
            f.write(b"hello, world\n" * 100)
        self.assertRefused(path, "not an ipp_ntfy store (file is not a database)")

    def test_otherDatabase(self) -> None:
        path = os.path.join(self.directory, "other.sqlite")
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE things (name TEXT)")
        connection.close()
        self.assertRefused(path, "not an ipp_ntfy store (it has tables)")

    def test_newerSchema(self) -> None:
        path = os.path.join(self.directory, "newer.sqlite")
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA user_version = 99")
        connection.close()
        self.assertRefused(
            path,
            "schema version 99 is newer than this ipp_ntfy knows "
            f"({len(MIGRATIONS)}); open it with the version that wrote it",
        )


class FormatTableTests(SynchronousTestCase):
    def test_format(self) -> None:
        """
        Columns are padded to their widest cell, numbers right-aligned, long or
        multi-line cells shortened to one line.
        """
        self.assertEqual(
            formatTable(("ID", "NAME"), [(1, "a\nb"), (100, "x" * 70)], numeric=(0,)),
            f" ID  NAME\n  1  a b\n100  {'x' * 57}...\n",
        )


class PostgresErrorTests(TestCase):
    """
    PostgreSQL URLs that name no usable store: exit status 1, one line, nothing
    created, no password shown.
    """

    def assertRefused(self, db: str, text: str) -> None:
        for argv in [
            ("subscriptions", "--db", db),
            ("dead-letters", "--db", db),
            ("replay", "--db", db, "--dead-letters"),
        ]:
            status, out, err = cli(*argv)
            self.assertEqual((status, out), (1, ""), err)
            [line] = err.splitlines()
            self.assertTrue(line.startswith("ipp-ntfy: error: "), line)
            self.assertIn(text, line)
            self.assertNotIn("secret", line)

    def test_badUrl(self) -> None:
        self.assertRefused(
            "postgresql://app:secret@db.example:port/ipp",
            "bad database URL postgresql://app:***@db.example:port/ipp: port",
        )
        self.assertRefused(
            "postgresql://app:secret@db.example/ipp?frobnicate=1",
            'invalid URI query parameter: "frobnicate"',
        )
        self.assertRefused("postgres://db.example", "no database name")

    def test_unreachable(self) -> None:
        """
        A server that refuses the connection.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.assertRefused(
            f"postgresql://app:secret@127.0.0.1:{port}/ipp",
            f"cannot use database postgresql://app:***@127.0.0.1:{port}/ipp: "
            "connection failed",
        )

    def test_missingDatabase(self) -> None:
        running = server()
        self.assertRefused(
            f"postgresql://postgres@127.0.0.1:{running.port}/nosuchdatabase",
            'database "nosuchdatabase" does not exist',
        )

    def test_emptyDatabase(self) -> None:
        """
        A database without tables is not made a store.
        """
        url = postgresUrl(freshDatabase(self))
        self.assertRefused(url, "not an ipp_ntfy store (no tables)")
        with psycopg.connect(url) as connection:
            [(tables,)] = connection.execute(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
        self.assertEqual(tables, 0)

    def test_otherDatabase(self) -> None:
        url = postgresUrl(freshDatabase(self))
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE TABLE things (name TEXT)")
        self.assertRefused(url, "not an ipp_ntfy store (it has tables)")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class ProgressBarTests(SynchronousTestCase):
    """
    L{ProgressBar}: a bar redrawn in place on a terminal, plain lines otherwise.
    """

    def test_terminal(self) -> None:
        """
        On a terminal each step redraws one line (carriage return, padded over a
        longer previous text); C{done} ends the line.
        """
        stream = _Terminal()
        bar = ProgressBar(stream)
        bar.width = 4
        bar.show(1, 2, "subscription 10: 12 events queued")
        bar.show(2, 2, "subscription 3: 1 event queued")
        bar.done()
        first = "replay [##..] 1/2 subscription 10: 12 events queued"
        second = "replay [####] 2/2 subscription 3: 1 event queued"
        self.assertEqual(
            stream.getvalue(),
            "\r" + first + "\r" + second.ljust(len(first)) + "\n",
        )

    def test_pipe(self) -> None:
        """
        To a file or a pipe, each step is a line of its own, and C{done} adds
        nothing.
        """
        stream = io.StringIO()
        bar = ProgressBar(stream)
        bar.show(1, 2, "a")
        bar.show(2, 2, "b")
        bar.done()
        self.assertEqual(stream.getvalue(), "replay: a (1/2)\nreplay: b (2/2)\n")

    def test_nothingShown(self) -> None:
        """
        C{done} without a step writes nothing.
        """
        stream = _Terminal()
        ProgressBar(stream).done()
        self.assertEqual(stream.getvalue(), "")
