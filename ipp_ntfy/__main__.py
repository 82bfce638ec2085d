"""
The C{ipp-ntfy} command (also C{python -m ipp_ntfy}).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO, Callable, List, Optional, Sequence, TextIO

from .ipp import IppDecodeError, Message, MessageStream, decode
from .ipp.format import formatMessage, messageToJSON


def _readInput(path: str, stdin: BinaryIO) -> bytes:
    if path == "-":
        return stdin.read()
    with open(path, "rb") as f:
        return f.read()


def _decodeCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    try:
        data = _readInput(options.file, stdin)
    except OSError as e:
        stderr.write(f"error: cannot read {options.file}: {e.strerror}\n")
        return 1
    request: Optional[bool] = None
    if options.request:
        request = True
    elif options.response:
        request = False
    messages: List[Message] = []
    try:
        if options.stream:
            stream = MessageStream(lenient=options.lenient)
            messages = stream.feed(data)
            stream.close()
        else:
            messages = [decode(data, lenient=options.lenient)]
    except IppDecodeError as e:
        _show(messages, options.json, request, stdout)
        stderr.write(f"error at offset {e.offset}: {e.reason}\n")
        return 1
    _show(messages, options.json, request, stdout)
    return 0


def _show(
    messages: Sequence[Message], asJSON: bool, request: Optional[bool], stdout: TextIO
) -> None:
    for index, message in enumerate(messages):
        if asJSON:
            stdout.write(json.dumps(messageToJSON(message, request)) + "\n")
        else:
            if index:
                stdout.write("\n")
            stdout.write(formatMessage(message, request) + "\n")
    stdout.flush()


def _sendCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    import datetime

    from .delivery import HttpDeliveryMethod, RecipientError, httpTarget
    from .notification import Event, NotificationError
    from .outcome import DeliveryOutcome
    from .tls import ClientTLSPolicy, TLSConfigError

    try:
        httpTarget(options.uri)
        event = Event(
            source="ipp-ntfy send",
            subscriptionId=options.subscription_id,
            sequenceNumber=options.sequence,
            event=options.event,
            printerUri=options.printer_uri,
            jobId=options.job_id,
            text=options.text,
            printerUpTime=options.up_time,
            receivedAt=datetime.datetime.now(datetime.timezone.utc),
        )
        policy = ClientTLSPolicy(
            caFile=options.ca_file,
            pins=options.pin or (),
            clientCertificate=options.client_cert,
            clientKey=options.client_key,
            insecure=options.insecure,
        )
    except (RecipientError, NotificationError, TLSConfigError) as e:
        stderr.write(f"error: {e}\n")
        return 2
    result: List[DeliveryOutcome] = []

    def run(reactor: object) -> object:
        method = HttpDeliveryMethod(
            reactor,
            tlsPolicy=policy,
            requestTimeout=options.timeout,
            connectTimeout=options.timeout,
        )
        d = method.deliver(options.uri, [event])
        d.addCallback(result.extend)
        d.addBoth(lambda passthrough: method.pool.closeCachedConnections())
        return d

    _react(run)
    outcome = result[0]
    if options.json:
        stdout.write(
            json.dumps(
                {
                    "outcome": outcome.kind.value,
                    "delivered": outcome.delivered,
                    "status-code": outcome.status,
                    "reason": outcome.reason,
                    "retry-after": outcome.retryAfter,
                }
            )
            + "\n"
        )
    else:
        verdict = "delivered" if outcome.delivered else outcome.kind.value
        stdout.write(f"{verdict}: {outcome.reason or 'no reason given'}\n")
    return 0 if outcome.delivered else 1


def _react(run: Callable[[object], object]) -> None:
    """
    Run C{run(reactor)} to completion on the global reactor, without the
    C{sys.exit} of C{task.react}.
    """
    from twisted.internet import reactor as _reactor
    from twisted.internet.defer import maybeDeferred

    reactor: Any = _reactor
    d = maybeDeferred(run, reactor)
    d.addBoth(lambda _: reactor.callLater(0, reactor.stop))
    reactor.run(installSignalHandlers=False)


def _cupsNotifierCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    from .sources.cups_notifier import runNotifier

    return runNotifier(
        ["ipp-ntfy cups-notifier", options.uri, options.user_data],
        stdin.fileno(),
        stderr=stderr,
    )


def _installCupsNotifierCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    from .sources.cups_notifier import (
        InstallError,
        defaultServerBin,
        installNotifiers,
    )

    schemes = [s.strip() for s in options.schemes.split(",") if s.strip()]
    serverBin = options.serverbin or defaultServerBin()

    def say(line: str) -> None:
        stdout.write(line + "\n")
        stdout.flush()

    try:
        installNotifiers(
            serverBin,
            schemes=schemes,
            python=options.python,
            paths=options.pythonpath or (),
            force=options.force,
            user=None if options.no_check else options.user,
            say=say,
        )
    except (InstallError, OSError) as e:
        stderr.write(f"error: {e}\n")
        return 1
    return 0


def _subscriptionsCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    from .storecli import subscriptionsCommand

    return subscriptionsCommand(options, stdout, stderr)


def _deadLettersCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    from .storecli import deadLettersCommand

    return deadLettersCommand(options, stdout, stderr)


def _replayCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    from .storecli import replayCommand

    return replayCommand(options, stdout, stderr)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _addStoreCommands(commands: Any) -> None:
    """
    The operator commands on a relay store (L{ipp_ntfy.storecli}).
    """
    lister = commands.add_parser(
        "subscriptions",
        help="list the subscriptions of a relay store",
        description=(
            "Show the subscriptions of a relay's store: id, printer, push "
            "recipient or pull method, events, lease expiry, last sequence number "
            "and how many events are queued for delivery.  The relay may be "
            "running.  Exit status 1 if the file or database is missing or not a "
            "store, or the server cannot be reached."
        ),
    )
    lister.add_argument(
        "--db",
        metavar="FILE|URL",
        required=True,
        help="the store: a SQLite file or a postgresql:// URL",
    )
    lister.add_argument("--printer", metavar="URI", help="only this printer's")
    lister.add_argument(
        "--json", action="store_true", help="print one JSON object per subscription"
    )
    lister.set_defaults(run=_subscriptionsCommand)

    dead = commands.add_parser(
        "dead-letters",
        help="list the events a relay store gave up delivering",
        description=(
            "Show the dead letters of a relay's store: subscription, "
            "sequence number, event, recipient, attempts, when it was queued and "
            "given up on, and the last error.  Exit status 1 if the file or "
            "database is missing or not a store, or the subscription is unknown."
        ),
    )
    dead.add_argument(
        "--db",
        metavar="FILE|URL",
        required=True,
        help="the store: a SQLite file or a postgresql:// URL",
    )
    dead.add_argument(
        "--subscription", metavar="N", type=_positive, help="only this subscription's"
    )
    dead.add_argument(
        "--json", action="store_true", help="print one JSON object per dead letter"
    )
    dead.set_defaults(run=_deadLettersCommand)

    replayer = commands.add_parser(
        "replay",
        help="queue events of a relay store for delivery again",
        description=(
            "Queue events again, due now, in a relay's store: with "
            "--subscription N, the kept history of that push subscription from "
            "--from-sequence (default 1) on, except events still queued; with "
            "--dead-letters, the dead letters (of --subscription N, or of every "
            "push subscription that still exists), attempts reset.  A running "
            "relay delivers them at its next queue check.  Prints how many were "
            "queued."
        ),
    )
    replayer.add_argument(
        "--db",
        metavar="FILE|URL",
        required=True,
        help="the store: a SQLite file or a postgresql:// URL",
    )
    replayer.add_argument(
        "--subscription", metavar="N", type=_positive, help="the subscription"
    )
    replayer.add_argument(
        "--from-sequence",
        metavar="S",
        type=_positive,
        help="replay history from this sequence number (default: 1)",
    )
    replayer.add_argument(
        "--dead-letters",
        action="store_true",
        help="replay dead letters instead of history",
    )
    replayer.set_defaults(run=_replayCommand)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipp-ntfy",
        description="HTTP-based IPP event notifications: tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    decoder = commands.add_parser(
        "decode",
        help="show an IPP message (application/ipp) readably or as JSON",
        description=(
            "Decode an IPP message (RFC 8010) and show its header and every "
            "attribute: group, name, syntax, values.  Exit status 1 and "
            "'error at offset N: reason' on standard error if it is not valid."
        ),
    )
    decoder.add_argument(
        "file", metavar="FILE", help="the message; - for standard input"
    )
    decoder.add_argument(
        "--json", action="store_true", help="print one JSON object per message"
    )
    decoder.add_argument(
        "--stream",
        action="store_true",
        help=(
            "FILE holds messages back to back with no separator, as cupsd writes "
            "events to a notifier's standard input"
        ),
    )
    decoder.add_argument(
        "--lenient",
        action="store_true",
        help="accept known printer quirks (bad UTF-8, odd lengths) instead of failing",
    )
    kind = decoder.add_mutually_exclusive_group()
    kind.add_argument(
        "--request",
        action="store_true",
        help="name the header code as an operation (default: guessed)",
    )
    kind.add_argument(
        "--response",
        action="store_true",
        help="name the header code as a status code (default: guessed)",
    )
    decoder.set_defaults(run=_decodeCommand)

    sender = commands.add_parser(
        "send",
        help="send one test event to a listener and show its answer",
        description=(
            "Deliver one event notification to a listener URI (http, https, ipp, "
            "ipps; indp for the Send-Notifications dialect) and print the "
            "listener's per-report status.  Exit status 0 if it was consumed, 1 if "
            "not, 2 for bad options."
        ),
    )
    sender.add_argument("uri", metavar="URI", help="the listener (recipient) URI")
    sender.add_argument(
        "--event",
        default="printer-state-changed",
        help="the event keyword (default: %(default)s)",
    )
    sender.add_argument(
        "--subscription-id", type=int, default=1, help="default: %(default)s"
    )
    sender.add_argument(
        "--sequence", type=int, default=1, help="sequence number (default: %(default)s)"
    )
    sender.add_argument(
        "--printer-uri",
        default="ipp://localhost/printers/test",
        help="notify-printer-uri (default: %(default)s)",
    )
    sender.add_argument("--job-id", type=int, default=None, help="notify-job-id")
    sender.add_argument("--up-time", type=int, default=None, help="printer-up-time")
    sender.add_argument(
        "--text", default="Test event from ipp-ntfy send.", help="notify-text"
    )
    sender.add_argument(
        "--timeout", type=float, default=30.0, help="seconds (default: %(default)s)"
    )
    sender.add_argument("--json", action="store_true", help="print the outcome as JSON")
    sender.add_argument("--ca-file", help="PEM CA certificates to trust for https")
    sender.add_argument(
        "--pin",
        action="append",
        help="accept this certificate key pin (sha256:...), repeatable",
    )
    sender.add_argument("--client-cert", help="PEM client certificate (mutual TLS)")
    sender.add_argument("--client-key", help="PEM key of --client-cert")
    sender.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the listener's certificate (logged)",
    )
    sender.set_defaults(run=_sendCommand)

    notifier = commands.add_parser(
        "cups-notifier",
        help="run the CUPS notifier (what cupsd runs for http/https recipients)",
        description=(
            "Read the IPP events cupsd writes on standard input, spool them and "
            "deliver them to URI, as the installed notifier does (see "
            "install-cups-notifier).  Options come from the environment: "
            "IPP_NTFY_CA_FILE, IPP_NTFY_PINS, IPP_NTFY_CLIENT_CERT, "
            "IPP_NTFY_CLIENT_KEY, IPP_NTFY_INSECURE, IPP_NTFY_TLS_MIN_VERSION, "
            "IPP_NTFY_DRAIN_SECONDS, IPP_NTFY_MAX_AGE, IPP_NTFY_TIMEOUT and "
            "IPP_NTFY_SPOOL_DIR (default $CUPS_CACHEDIR/ipp-ntfy).  Log lines "
            "go to standard error with cupsd's DEBUG:/INFO:/ERROR: prefixes."
        ),
    )
    notifier.add_argument(
        "uri", metavar="URI", help="the recipient (notify-recipient-uri)"
    )
    notifier.add_argument(
        "user_data",
        metavar="USERDATA",
        nargs="?",
        default="",
        help="notify-user-data in base64 (default: none)",
    )
    notifier.set_defaults(run=_cupsNotifierCommand)

    installer = commands.add_parser(
        "install-cups-notifier",
        help="install the CUPS notifier, so that cupsd accepts http/https recipients",
        description=(
            "Write SERVERBIN/notifier/http and .../https (or --schemes): scripts "
            "that run the ipp_ntfy notifier with --python, mode 0755, owned by "
            "root when run as root.  cupsd runs them as its User (lp) with umask "
            "077, so as root each script is first run with --check as --user; "
            "nothing is installed if that fails.  A file this command did not "
            "write is replaced only with --force.  TLS and other options are "
            "environment variables, set with SetEnv in cups-files.conf (see "
            "'ipp-ntfy cups-notifier --help')."
        ),
    )
    installer.add_argument(
        "--serverbin",
        metavar="DIR",
        default=None,
        help="cupsd's ServerBin (default: cups-config --serverbin, else /usr/lib/cups)",
    )
    installer.add_argument(
        "--python",
        metavar="PATH",
        default=sys.executable,
        help="the interpreter the notifier runs with (default: %(default)s)",
    )
    installer.add_argument(
        "--pythonpath",
        metavar="DIR",
        action="append",
        help="a directory to put on the notifier's sys.path, repeatable (the "
        "checkout ipp_ntfy comes from, if not installed, is added anyway)",
    )
    installer.add_argument(
        "--schemes",
        default="http,https",
        help="recipient URI schemes, comma-separated, among http, https, ipp-ntfy, "
        "ipp, ipps, indp (default: %(default)s)",
    )
    installer.add_argument(
        "--force",
        action="store_true",
        help="replace notifiers this command did not write",
    )
    installer.add_argument(
        "--user",
        default="lp",
        help="cupsd's User, whom the check runs as (default: %(default)s)",
    )
    installer.add_argument(
        "--no-check",
        action="store_true",
        help="do not check that --user can run the notifier",
    )
    installer.set_defaults(run=_installCupsNotifierCommand)
    _addStoreCommands(commands)
    return parser


def main(
    argv: Optional[Sequence[str]] = None,
    stdin: Optional[BinaryIO] = None,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
) -> int:
    """
    Run the command line C{argv} (default: C{sys.argv[1:]}).

    @return: the exit status.
    """
    options = _parser().parse_args(argv)
    try:
        return int(
            options.run(
                options,
                stdin if stdin is not None else sys.stdin.buffer,
                stdout if stdout is not None else sys.stdout,
                stderr if stderr is not None else sys.stderr,
            )
        )
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
