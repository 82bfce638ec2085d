"""
A private PostgreSQL server for the tests of the PostgreSQL store: started once per
test run, on 127.0.0.1 and a free port (and a unix socket in its own directory),
with trust authentication, and stopped when the process exits.  Each test gets a
database of its own (L{freshDatabase}), dropped when it ends.

Without PostgreSQL installed (Debian: C{apt-get install postgresql}; the CI installs
it through C{.ci/setup}), the tests that need it are skipped.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from typing import TYPE_CHECKING, List, Optional

from twisted.trial.unittest import SkipTest

if TYPE_CHECKING:
    from twisted.trial.unittest import TestCase

_INSTALL = "PostgreSQL is not installed: apt-get install postgresql"


class _Server:
    """
    A running server.

    @ivar port: its TCP port on 127.0.0.1.
    """

    def __init__(self, binDir: str, durable: bool = False) -> None:
        """
        @param durable: whether commits wait for the disk as they would in
            production (for benchmarks); by default they do not.
        """
        self.binDir = binDir
        self.directory = tempfile.mkdtemp(prefix="ipp_ntfy-postgres-")
        self.data = os.path.join(self.directory, "data")
        self.port = _freePort()
        # PostgreSQL refuses to run as root: as root, run it as the system user
        # the Debian package creates.
        self.asUser: List[str] = []
        if os.geteuid() == 0:
            self.asUser = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            self.data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        # Durability does not matter to the tests; speed does.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port}"
            f" -k {self.directory} -c max_connections=50"
        )
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            os.path.join(self.directory, "log"),
            "-w",
            "start",
        )
        atexit.register(self.stop)

    def _run(self, program: str, *arguments: str) -> None:
        subprocess.run(
            [*self.asUser, os.path.join(self.binDir, program), *arguments],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def dsn(self, dbname: str) -> str:
        """
        @return: the libpq connection string of a database of this server.
        """
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def admin(self, statement: str) -> None:
        """
        Run one statement, outside a transaction, in the database C{postgres}.
        """
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _findBinDir() -> Optional[str]:
    """
    @return: the C{bin} directory of the newest PostgreSQL installed, or C{None}.
    """
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> float:
        try:
            return float(path.split("/")[-3])
        except ValueError:
            return 0.0

    found.sort(key=version)
    return os.path.dirname(found[-1]) if found else None


_server: Optional[_Server] = None
_broken: Optional[str] = None


def server() -> _Server:
    """
    @return: the server of this test run, started on first use.
    @raise SkipTest: if PostgreSQL (or psycopg) is not installed.
    """
    global _server, _broken
    if _server is not None:
        return _server
    if _broken is not None:
        raise RuntimeError(_broken)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise SkipTest("pip install 'psycopg[binary]'") from None
    binDir = _findBinDir()
    if binDir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        raise SkipTest(_INSTALL)
    try:
        _server = _Server(binDir)
    except subprocess.CalledProcessError as e:
        _broken = f"could not start PostgreSQL: {e.stderr.decode(errors='replace')}"
        raise RuntimeError(_broken) from e
    return _server


def freshDatabase(testCase: TestCase) -> str:
    """
    Create an empty database, dropped when the test ends (after the cleanups
    added later, such as closing the stores on it).

    @return: its libpq connection string.
    @raise SkipTest: if PostgreSQL is not installed.
    """
    running = server()
    name = f"test_{uuid.uuid4().hex}"
    running.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    testCase.addCleanup(running.admin, f"DROP DATABASE {name} WITH (FORCE)")
    return running.dsn(name)


def postgresUrl(dsn: str) -> str:
    """
    @return: the C{postgresql://} URL of a connection string of L{freshDatabase}.
    """
    from psycopg.conninfo import conninfo_to_dict

    parameters = conninfo_to_dict(dsn)
    return (
        f"postgresql://{parameters['user']}@{parameters['host']}:"
        f"{parameters['port']}/{parameters['dbname']}"
    )
