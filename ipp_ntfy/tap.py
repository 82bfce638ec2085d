"""
C{twistd ipp-ntfy}: the command-line options and the service they build::

    twistd -n ipp-ntfy listen --listen tcp:8632 --output events.jsonl
"""

from __future__ import annotations

import sys
from typing import IO, List, Optional

from twisted.application.service import IService, MultiService
from twisted.python import usage

from .service import ListenerService
from .store.opening import DEFAULT_CLAIM_LEASE

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


class RelayOptions(usage.Options):
    """
    C{twistd ipp-ntfy relay}: the notification relay.
    """

    synopsis = "[options]"
    longdesc = (
        "A notification relay between printers/CUPS servers and applications.  "
        "Applications subscribe over IPP (RFC 3995: Create-Printer-Subscriptions "
        "with notify-recipient-uri http(s)/ipp(s)/indp for push, or "
        "notify-pull-method ippget) at ipp://HOST:PORT/ipp/printers/NAME.  Each "
        "--upstream queue is watched with one ippget subscription, shared by every "
        "application subscription; each --printer NAME takes the reports a printer "
        "pushes to http://HOST:PORT/notify/NAME.  Events are stored (SQLite, "
        "--db) before anything acknowledges them, and delivered with retries; "
        "undeliverable ones end as dead letters, kept for replay.  Several relays "
        "(behind one HTTP load balancer) can share one PostgreSQL database: give "
        "each the same --db postgresql://USER@HOST/DATABASE; each event is then "
        "delivered by one of them, an upstream is polled by one at a time, and "
        "the events a relay that died had taken are delivered by another once "
        "their --claim-lease runs out."
    )

    optParameters = [
        [
            "db",
            None,
            "ipp-ntfy.sqlite3",
            "Where subscriptions, events and the delivery queue are kept: a SQLite "
            "file (created if missing), or a PostgreSQL URL "
            "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE, libpq's form; PG* "
            "environment variables and ~/.pgpass fill in) that several relays "
            "may share.",
        ],
        [
            "claim-lease",
            None,
            None,
            "PostgreSQL only: seconds the events a relay has taken for delivery "
            "are its own; if it dies, another relay delivers them after this "
            "long.  More than --request-timeout (default: "
            f"{DEFAULT_CLAIM_LEASE:g}, or twice --request-timeout if that is more).",
            float,
        ],
        [
            "base-uri",
            None,
            None,
            "The relay's IPP base URI as clients reach it "
            "(default: ipp://<this host's name>:<first --listen port>/ipp).",
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
            "Seconds a client has to send a whole request, and a listener to "
            "answer a delivery.",
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
            "poll-interval",
            None,
            2.0,
            "Longest wait, in seconds, between two Get-Notifications polls of an "
            "upstream (shorter if the upstream asks).",
            float,
        ],
        [
            "event-life",
            None,
            60.0,
            "Seconds an event is kept for Get-Notifications (ippget-event-life).",
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
            "PEM CA certificates: ssl: endpoints then require client certificates.",
        ],
        [
            "ca-file",
            None,
            None,
            "PEM CA certificates to trust for https listeners and ipps upstreams "
            "(default: the system's).",
        ],
        [
            "client-cert",
            None,
            None,
            "PEM client certificate (and key) to present to listeners that ask.",
        ],
        ["client-key", None, None, "PEM key of --client-cert, if separate."],
    ]
    optFlags = [
        [
            "insecure",
            None,
            "Do not verify listeners' certificates (logged at start).",
        ],
        [
            "no-metrics",
            None,
            "Do not serve /metrics (by default the relay's metrics are served in "
            "the Prometheus text format at /metrics on the --listen endpoints).",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["upstream"] = []
        self["printer"] = []
        self["pin"] = []
        self["metrics-listen"] = []

    def opt_listen(self, description: str) -> None:
        """
        Endpoint to listen on, repeatable (default: tcp:8631); e.g.
        ssl:8631:privateKey=key.pem:certKey=cert.pem.
        """
        self["listen"].append(description)

    opt_l = opt_listen

    def opt_upstream(self, uri: str) -> None:
        """
        A CUPS queue or IPP printer to watch (ipp://host:631/printers/NAME),
        repeatable; it appears as printer object NAME.
        """
        self["upstream"].append(uri)

    def opt_printer(self, name: str) -> None:
        """
        A printer that pushes its events to /notify/NAME, repeatable; it appears
        as printer object NAME.
        """
        self["printer"].append(name)

    def opt_metrics_listen(self, description: str) -> None:
        """
        Serve /metrics on this endpoint instead of the --listen ones,
        repeatable; e.g. tcp:9631:interface=127.0.0.1, to let a monitor reach it
        and no printer or application.
        """
        self["metrics-listen"].append(description)

    def opt_pin(self, pin: str) -> None:
        """
        Accept this certificate key pin (sha256:HEX, or HOST=sha256:HEX) for
        https listeners, repeatable.
        """
        self["pin"].append(pin)

    def postOptions(self) -> None:
        from .relay import printerName

        if not self["listen"]:
            self["listen"] = ["tcp:8631"]
        names = set()
        for uri in self["upstream"]:
            if not uri.startswith(("ipp://", "ipps://", "http://", "https://")):
                raise usage.UsageError(f"--upstream must be an ipp(s) URI: {uri!r}")
            try:
                name = printerName(uri)
            except ValueError as e:
                raise usage.UsageError(str(e)) from None
            if name in names:
                raise usage.UsageError(f"two upstreams named {name!r}")
            names.add(name)
        for name in self["printer"]:
            if not name or "/" in name or name in names:
                raise usage.UsageError(f"bad or repeated --printer name {name!r}")
            names.add(name)
        if self["min-tls"] not in ("1.2", "1.3"):
            raise usage.UsageError("--min-tls must be 1.2 or 1.3")
        if self["no-metrics"] and self["metrics-listen"]:
            raise usage.UsageError("--no-metrics and --metrics-listen: choose one")
        self._checkDatabase()
        from .tls import TLSConfigError, policyFor

        try:
            self["tls-policy"] = policyFor(
                caFile=self["ca-file"],
                pins=self["pin"],
                clientCertificate=self["client-cert"],
                clientKey=self["client-key"],
                insecure=bool(self["insecure"]),
            )
        except TLSConfigError as e:
            raise usage.UsageError(str(e)) from None

    def _checkDatabase(self) -> None:
        """
        Check C{--claim-lease}, and that a PostgreSQL C{--db} is a valid URL of a
        server that answers, so that a mistake there is a usage error.
        """
        from .store.opening import (
            StoreLocationError,
            checkDatabaseUrl,
            describeError,
            isDatabaseUrl,
        )

        timeout = self["request-timeout"]
        lease = self["claim-lease"]
        if lease is None:
            lease = max(DEFAULT_CLAIM_LEASE, 2 * timeout)
        elif lease <= timeout:
            raise usage.UsageError(
                f"--claim-lease ({lease:g} s) must be more than --request-timeout "
                f"({timeout:g} s): a delivery still under way when its claim runs "
                "out is made again by another relay"
            )
        self["claim-lease"] = float(lease)
        db = self["db"]
        if not isDatabaseUrl(db):
            return
        try:
            parameters = checkDatabaseUrl(db)
        except StoreLocationError as e:
            raise usage.UsageError(f"--db: {e}") from None
        import psycopg

        try:
            timeout = {} if "connect_timeout" in parameters else {"connect_timeout": 10}
            psycopg.connect(db, **timeout).close()
        except psycopg.Error as e:
            raise usage.UsageError(f"--db: {describeError(db, e)}") from None


class Options(usage.Options):
    """
    C{twistd ipp-ntfy}.
    """

    synopsis = "COMMAND [options]"
    longdesc = (
        "HTTP-based IPP event notifications.  Commands: relay (the notification "
        "relay) and listen (a notification listener writing events as JSON "
        "lines).  Run "
        "'twistd ipp-ntfy COMMAND --help' for a command's options."
    )
    subCommands = [
        ["relay", None, RelayOptions, "Run the notification relay."],
        ["listen", None, ListenOptions, "Receive notifications; write JSON lines."],
    ]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("a command is needed: relay or listen")


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
    if options.subCommand == "relay":
        from twisted.internet import reactor

        from .relay import RelayService

        return RelayService(
            reactor,
            listen=sub["listen"],
            db=sub["db"],
            upstreams=sub["upstream"],
            printers=sub["printer"],
            baseUri=sub["base-uri"],
            tlsPolicy=sub["tls-policy"],
            upstreamTLSPolicy=sub["tls-policy"],
            maxBodyBytes=sub["max-body"],
            requestTimeout=sub["request-timeout"],
            idleTimeout=sub["idle-timeout"],
            minimumTLSVersion=sub["min-tls"],
            clientCA=sub["client-ca"],
            eventLife=sub["event-life"],
            pollInterval=sub["poll-interval"],
            metrics=not sub["no-metrics"],
            metricsListen=sub["metrics-listen"],
            claimLease=sub["claim-lease"],
        )
    raise usage.UsageError(f"unknown command {options.subCommand!r}")


__all__: List[str] = ["Options", "makeService", "MultiService"]
