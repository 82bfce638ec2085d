"""
C{twistd ipp-ntfy}: the command-line options and the service they build.

    twistd -n ipp-ntfy listen --listen tcp:8632 --output events.jsonl
"""

from __future__ import annotations

import sys
from typing import IO, List, Optional

from twisted.application.service import IService, MultiService
from twisted.python import usage

from .service import ListenerService

DEFAULT_LISTEN = "tcp:8632"


class ListenOptions(usage.Options):
    """
    C{twistd ipp-ntfy listen}: a notification listener that writes each event it
    receives as one line of JSON.
    """

    synopsis = "[options]"
    longdesc = (
        "Receive IPP event notifications (Report-Ipp-Notifications, and indp "
        "Send-Notifications) over HTTP/1.1 or HTTPS and write each event as one line "
        "of JSON, flushed to disk before the report is acknowledged.  Point a "
        "printer's or the relay's notify-recipient-uri at "
        "http://HOST:PORT/notify (or https:// with an ssl: endpoint)."
    )

    optParameters = [
        [
            "path",
            None,
            "/notify",
            "URL path where reports are accepted.",
        ],
        [
            "output",
            "o",
            "-",
            "File to append one JSON object per event to; '-' for standard output.",
        ],
        [
            "max-body",
            None,
            4 * 1024 * 1024,
            "Largest request body in bytes; larger requests get HTTP 413.",
            int,
        ],
        [
            "request-timeout",
            None,
            30.0,
            "Seconds a client has to send a whole request (then HTTP 408).",
            float,
        ],
        [
            "idle-timeout",
            None,
            60.0,
            "Seconds an idle keep-alive connection stays open.",
            float,
        ],
        [
            "min-tls",
            None,
            "1.2",
            "Lowest TLS version an ssl: endpoint accepts (1.2 or 1.3).",
        ],
        [
            "client-ca",
            None,
            None,
            "PEM file of CA certificates: ssl: endpoints then require a client "
            "certificate signed by one of them (mutual TLS).",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []

    def opt_listen(self, description: str) -> None:
        """
        Endpoint to listen on, repeatable (default: tcp:8632). E.g.
        tcp:port=8632:interface=127.0.0.1, or
        ssl:8443:privateKey=key.pem:certKey=cert.pem for HTTPS.
        """
        self["listen"].append(description)

    opt_l = opt_listen

    def postOptions(self) -> None:
        if not self["listen"]:
            self["listen"] = [DEFAULT_LISTEN]
        path = self["path"]
        if not path.startswith("/"):
            raise usage.UsageError(f"--path must start with '/': {path!r}")
        if self["max-body"] < 1024:
            raise usage.UsageError("--max-body must be at least 1024 bytes")
        if self["min-tls"] not in ("1.2", "1.3"):
            raise usage.UsageError("--min-tls must be 1.2 or 1.3")
        # Opened now, so that a bad path is a usage error, not a traceback.
        self["stream"] = _openOutput(self["output"])


class Options(usage.Options):
    """
    C{twistd ipp-ntfy}.
    """

    synopsis = "COMMAND [options]"
    longdesc = (
        "HTTP-based IPP event notifications.  Commands: listen (a notification "
        "listener writing events as JSON lines).  Run "
        "'twistd ipp-ntfy COMMAND --help' for a command's options."
    )
    subCommands = [
        ["listen", None, ListenOptions, "Receive notifications; write JSON lines."],
    ]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("a command is needed: listen")


def _openOutput(path: str) -> IO[str]:
    if path == "-":
        return sys.stdout
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as e:
        raise usage.UsageError(f"cannot open --output {path}: {e.strerror}") from None


def makeService(options: Options, stdout: Optional[IO[str]] = None) -> IService:
    """
    Build the service for the chosen command.
    """
    sub = options.subOptions
    if options.subCommand == "listen":
        output = sub["stream"]
        if stdout is not None and sub["output"] == "-":
            output = stdout
        return ListenerService(
            endpoints=list(sub["listen"]),
            path=sub["path"],
            output=output,
            maxBodyBytes=sub["max-body"],
            requestTimeout=sub["request-timeout"],
            idleTimeout=sub["idle-timeout"],
            minimumTLSVersion=sub["min-tls"],
            clientCA=sub["client-ca"],
        )
    raise usage.UsageError(f"unknown command {options.subCommand!r}")


__all__: List[str] = ["Options", "makeService", "MultiService"]
