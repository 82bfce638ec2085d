"""
A private cupsd for interop tests: everything in a temporary directory, listening
on a free loopback port, with a raw C{file:/dev/null} queue.

    cups = CupsDaemon(directory)
    cups.start()                      # blocks until it answers
    cups.addQueue("test")
    cups.run("lp", "-d", "test", "/etc/hostname")
    cups.stop()

C{ServerBin} is a copy of the system's layout with links to its backends and
filters, and a real C{notifier/} directory where tests may install notifiers
(cupsd runs only programs owned by root and not group- or world-writable, so the
tree is made that way).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional

SYSTEM_SERVERBIN = "/usr/lib/cups"
CUPSD = shutil.which("cupsd") or "/usr/sbin/cupsd"


def cupsAvailable() -> Optional[str]:
    """
    @return: why cupsd cannot be run here, or C{None} if it can.
    """
    for program in ("cupsd", "lpadmin", "lp", "ipptool"):
        if shutil.which(program) is None and not os.path.exists(f"/usr/sbin/{program}"):
            return (
                f"{program} is not installed "
                "(Debian packages cups, cups-client, cups-ipp-utils)"
            )
    if os.geteuid() != 0:
        return "cupsd needs root to run its notifiers as user lp"
    return None


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class CupsDaemon:
    """
    One private cupsd.

    @ivar directory: its ServerRoot and everything else.
    @ivar port: the loopback port it listens on.
    @ivar serverBin: its ServerBin (with C{notifier/} to add notifiers to).
    """

    def __init__(self, directory: str, port: Optional[int] = None) -> None:
        self.directory = os.path.abspath(directory)
        self.port = port or freePort()
        self.serverBin = os.path.join(self.directory, "serverbin")
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.environ: Dict[str, str] = {}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def uri(self) -> str:
        return f"ipp://{self.address}"

    def printerUri(self, queue: str) -> str:
        return f"ipp://{self.address}/printers/{queue}"

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def configure(self, setEnv: Optional[Dict[str, str]] = None) -> None:
        d = self.directory
        os.makedirs(d, exist_ok=True)
        # cupsd checks that what it runs and reads is not writable by others.
        os.chmod(d, 0o755)
        for sub in ("spool", "spool/tmp", "cache", "state", "log", "ppd"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "spool"), 0o710)
        os.chmod(os.path.join(d, "spool/tmp"), 0o1770)
        for sub in ("cache", "state"):
            os.chmod(os.path.join(d, sub), 0o775)
        os.makedirs(self.serverBin, exist_ok=True)
        os.chmod(self.serverBin, 0o755)
        for entry in os.listdir(SYSTEM_SERVERBIN):
            target = os.path.join(self.serverBin, entry)
            if entry == "notifier":
                os.makedirs(target, exist_ok=True)
                os.chmod(target, 0o755)
            elif not os.path.lexists(target):
                os.symlink(os.path.join(SYSTEM_SERVERBIN, entry), target)
        try:
            import grp

            lpGroup = grp.getgrnam("lp").gr_gid
            for sub in ("spool", "spool/tmp", "cache", "state"):
                os.chown(os.path.join(d, sub), 0, lpGroup)
        except (KeyError, PermissionError):
            pass
        # CUPS 2.4 takes SetEnv only from cups-files.conf (it ignores, and
        # complains about, one in cupsd.conf).
        env = "".join(f"SetEnv {k} {v}\n" for k, v in (setEnv or {}).items())
        self._write(
            "cups-files.conf",
            "\n".join(
                [
                    f"ServerRoot {d}",
                    f"ServerBin {self.serverBin}",
                    "DataDir /usr/share/cups",
                    f"RequestRoot {d}/spool",
                    f"TempDir {d}/spool/tmp",
                    f"CacheDir {d}/cache",
                    f"StateDir {d}/state",
                    f"AccessLog {d}/log/access_log",
                    f"ErrorLog {d}/log/error_log",
                    f"PageLog {d}/log/page_log",
                    f"Printcap {d}/printcap",
                    "User lp",
                    "Group lp",
                    "FileDevice Yes",
                    "",
                ]
            )
            + env,
        )
        self._write(
            "cupsd.conf",
            f"""Listen 127.0.0.1:{self.port}
LogLevel debug
Browsing Off
WebInterface No
DefaultAuthType None
MaxSubscriptions 1000
MaxSubscriptionsPerPrinter 1000
MaxSubscriptionsPerUser 1000
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  JobPrivateValues none
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""",
        )

    def start(self, timeout: float = 15.0) -> None:
        """
        Start cupsd in the foreground of a child process and wait until it answers.
        """
        if not os.path.exists(os.path.join(self.directory, "cupsd.conf")):
            self.configure()
        self.process = subprocess.Popen(
            [
                CUPSD,
                "-f",
                "-c",
                os.path.join(self.directory, "cupsd.conf"),
                "-s",
                os.path.join(self.directory, "cups-files.conf"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "cupsd exited: "
                    + (self.process.stderr.read() or b"").decode()  # type: ignore[union-attr]
                    + self.errorLog()[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cupsd did not answer in time:\n" + self.errorLog()[-2000:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """
        Run a CUPS command-line tool against this cupsd (C{-h} is added).
        """
        program = shutil.which(argv[0]) or f"/usr/sbin/{argv[0]}"
        result = subprocess.run(
            [program, "-h", self.address, *argv[1:]],
            capture_output=True,
            timeout=60,
            env=dict(os.environ, CUPS_SERVER=self.address),
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed ({result.returncode}): "
                + result.stderr.decode(errors="replace")
            )
        return result

    def addQueue(self, name: str = "test") -> str:
        """
        Add a raw queue printing to /dev/null, enabled and accepting.

        @return: its printer URI.
        """
        self.run("lpadmin", "-p", name, "-E", "-v", "file:/dev/null")
        return self.printerUri(name)

    def errorLog(self) -> str:
        try:
            with open(
                os.path.join(self.directory, "log", "error_log"), errors="replace"
            ) as f:
                return f.read()
        except OSError:
            return ""

    def installNotifier(self, scheme: str, source: str) -> str:
        """
        Install an executable C{notifier/SCHEME} with the given text.
        """
        path = os.path.join(self.serverBin, "notifier", scheme)
        with open(path, "w") as f:
            f.write(source)
        os.chmod(path, 0o755)
        return path

    def ipptool(
        self, uri: str, testFile: str, *defines: str
    ) -> subprocess.CompletedProcess[bytes]:
        args: List[str] = ["ipptool", "-tv"]
        for define in defines:
            args += ["-d", define]
        return subprocess.run(
            [shutil.which("ipptool") or "ipptool", *args[1:], uri, testFile],
            capture_output=True,
            timeout=120,
        )
