"""
The CUPS notifier: the program cupsd runs for a push subscription whose
C{notify-recipient-uri} is C{http:}, C{https:} (or C{ipp-ntfy:}, see below), so
that C{lp -o notify-recipient-uri=https://app.example/ipp-events ...} or a
Create-Printer-Subscriptions with that recipient just works.

Installing
==========

C{ipp-ntfy install-cups-notifier} (L{installNotifiers}) writes
C{<ServerBin>/notifier/http} and C{.../https}: small Python scripts that call
L{run}.  cupsd accepts a recipient scheme only when C{notifier/<scheme>} exists,
and runs only programs owned by root and not writable by group or others, in a
directory that is neither.  The interpreter, ipp_ntfy and its dependencies must
be readable by cupsd's user (not the case for a Python under C{/root}): the
command checks that by running each script with C{--check} as that user before
putting it in place.

How cupsd runs it
=================

One process per subscription, started at the subscription's first event, as
cupsd's C{User} (C{lp} on Debian) with umask 077:

    - C{argv[1]}: the recipient URI; C{argv[2]}: C{notify-user-data} in base64
      (empty if none).
    - Standard input: one IPP message per event, back to back (no length prefix),
      split with L{MessageStream <ipp_ntfy.ipp.MessageStream>}.  End of file means
      the subscription was cancelled or expired.
    - Standard error: log lines with the C{DEBUG:}, C{INFO:}, C{WARNING:},
      C{ERROR:} prefixes cupsd files at those levels in its error_log
      (L{CupsLogObserver}).
    - Environment: cupsd's (C{CUPS_CACHEDIR}, ...) plus the C{SetEnv} lines of
      C{cups-files.conf}, which is how the options below are given.

What it does
============

Each event is read into an L{Event}, unchanged: the listener gets cupsd's own
C{notify-subscription-id} and C{notify-sequence-number}.  It is first committed to
a spool, then delivered with
L{HttpDeliveryMethod <ipp_ntfy.delivery.HttpDeliveryMethod>} by a
L{Dispatcher <ipp_ntfy.dispatcher.Dispatcher>}: in order, batched, retried
with backoff, dead-lettered after the maximum age, exactly like the relay.

The spool is an L{SQLiteStore <ipp_ntfy.store.SQLiteStore>} file per recipient:
C{$CUPS_CACHEDIR/ipp-ntfy/<sha256 of the recipient URI>.sqlite3} (the directory
is created with mode 0700; under cupsd's umask the files are 0600; all owned by
cupsd's user).  In it, each
CUPS subscription that delivers to that recipient has one local push subscription,
found through the store cursor C{cups-subscription:<id>} (which also remembers the
last sequence number spooled, so an event cupsd sends again is not spooled twice).
When cupsd ends the subscription (end of input) and nothing of it is left to
deliver, its local subscription and cursor are deleted; the spool also keeps
only the last L{HISTORY_KEPT} delivered events of each subscription.  Dead
letters stay: C{ipp-ntfy dead-letters --db FILE} and C{ipp-ntfy replay --db
FILE} work on the spool.

Several notifier processes may share a spool (two CUPS subscriptions with the same
recipient): all of them spool, but only the one holding the lock file
C{<sha256>.lock} delivers; the others take over when it exits.

Lifetime: at start it delivers whatever the spool still holds (from an earlier run
that could not deliver, or was killed).  At end of file it keeps delivering until
the spool is empty or C{IPP_NTFY_DRAIN_SECONDS} have passed, then exits 0; what
is left stays in the spool for the next run (cupsd starts the notifier again at
the subscription's next event).  On SIGTERM (cupsd stopping) it records the
deliveries under way and exits 0 at once.  Input that is not a stream of event
messages is logged as an C{ERROR:} line with the offset, and the notifier exits 1
after spooling the events before it: the stream has no framing to resynchronise
on, and cupsd starts a new notifier for the next event.

If the listener cancels the subscription (a per-report C{client-error-not-found},
or HTTP 404 or 410), the local subscription is cancelled and later events of that
CUPS subscription are dropped, with an C{INFO:} line; the notifier cannot cancel
the CUPS subscription itself (cupsd allows that to its owner and to admins only).

Recipient URIs
==============

    - C{http://HOST[:PORT]/PATH}, C{https://HOST[:PORT]/PATH}: delivered as they
      are (Report-Ipp-Notifications).
    - C{ipp-ntfy://HOST[:PORT]/PATH[?QUERY]}: delivered to
      C{https://HOST[:PORT]/PATH[?QUERY]}, or to C{http://...} when the query has
      C{tls=no} (or C{tls=0}, C{tls=false}); the C{tls} parameter is removed.  For
      sites that keep C{http}/C{https} notifiers of their own.
    - C{ipp}, C{ipps}, C{indp}: as L{httpTarget <ipp_ntfy.delivery.httpTarget>}
      maps them, if a notifier is installed under that name.

Options (environment, through C{SetEnv} in C{cups-files.conf})
==============================================================

    - C{IPP_NTFY_CA_FILE}: PEM file of the CA certificates to trust for https
      listeners, instead of the system's.  It must be readable by cupsd's user.
    - C{IPP_NTFY_PINS}: certificate key pins, separated by spaces or commas:
      C{sha256:<hex>} for every host or C{HOST=sha256:<hex>} for one (see
      L{ipp_ntfy.tls.certificateFingerprint}); a pinned host is checked against
      its pins only.
    - C{IPP_NTFY_CLIENT_CERT}, C{IPP_NTFY_CLIENT_KEY}: PEM client certificate (and
      its key, if not in the same file) for listeners that ask for one (mTLS).
    - C{IPP_NTFY_INSECURE}: C{yes} turns certificate verification off (logged as
      a warning at every start); not with a CA file or pins.
    - C{IPP_NTFY_TLS_MIN_VERSION}: C{1.2} (default) or C{1.3}.
    - C{IPP_NTFY_DRAIN_SECONDS}: how long to keep delivering after end of file
      (default 60).
    - C{IPP_NTFY_MAX_AGE}: seconds after which an undeliverable event is
      dead-lettered (default 86400).
    - C{IPP_NTFY_TIMEOUT}: seconds for one delivery request (default 30).
    - C{IPP_NTFY_SPOOL_DIR}: the spool directory, instead of
      C{$CUPS_CACHEDIR/ipp-ntfy}.

For example, in C{/etc/cups/cups-files.conf} (CUPS 2.4 ignores C{SetEnv} in
C{cupsd.conf}, with an "I" line asking to move it; restart cupsd after the
change)::

    SetEnv IPP_NTFY_CA_FILE /etc/cups/ipp-ntfy-ca.pem
    SetEnv IPP_NTFY_DRAIN_SECONDS 120

Verification of https listeners is on unless C{IPP_NTFY_INSECURE} says
otherwise.  A bad option is logged as an C{ERROR:} line; events are then still
spooled (nothing is lost) but not delivered until the option is fixed.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import errno
import fcntl
import hashlib
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    NoReturn,
    Optional,
    Sequence,
    TextIO,
    Tuple,
    Union,
)
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import (
    ILogObserver,
    Logger,
    LogLevel,
    formatEvent,
    globalLogBeginner,
    globalLogPublisher,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from .._version import __version__
from ..delivery import HttpDeliveryMethod, RecipientError, httpTarget
from ..dispatcher import Dispatcher
from ..interfaces import ISubscriptionStore
from ..ipp import IppDecodeError, Message, MessageStream
from ..ipp.decode import messageLength
from ..manager import eventToPayload
from ..notification import Event, NotificationError, eventFromNotifierMessage
from ..retry import DEFAULT_MAX_AGE, RetryPolicy
from ..store.sqlite import SQLiteStore
from ..subscription import Subscription
from ..tls import ClientTLSPolicy, TLSConfigError, policyFor

__all__ = [
    "CupsLogObserver",
    "CupsNotifier",
    "InstallError",
    "NotifierConfig",
    "NotifierError",
    "SCHEMES",
    "SpoolLock",
    "configFromEnvironment",
    "defaultServerBin",
    "installNotifiers",
    "main",
    "notifierScript",
    "recipientTarget",
    "run",
    "runNotifier",
    "spoolPath",
    "tlsPolicyFromEnvironment",
]

#: Recipient schemes the notifier can be installed for: those the delivery method
#: speaks, and C{ipp-ntfy}.
SCHEMES = ("http", "https", "ipp-ntfy", "ipp", "ipps", "indp")

#: The schemes L{installNotifiers} installs by default.
DEFAULT_SCHEMES = ("http", "https")

#: What L{Event.source} says for events read from cupsd.
SOURCE = "cups-notifier"

#: Default of C{IPP_NTFY_DRAIN_SECONDS}.
DEFAULT_DRAIN_SECONDS = 60.0

#: Default of C{IPP_NTFY_TIMEOUT}.
DEFAULT_TIMEOUT = 30.0

#: How often a notifier that does not hold the delivery lock tries to take it.
LOCK_RETRY_SECONDS = 1.0

#: How often the spool is looked at while draining.
DRAIN_POLL_SECONDS = 0.2

#: How many delivered events of each subscription the spool keeps (for a look at
#: what came lately: C{history} in the spool file).
HISTORY_KEPT = 20

#: The longest wait, at the end, for deliveries under way to be recorded.
STOP_TIMEOUT_SECONDS = 10.0

#: cupsd reads notifier log lines into a 1024-byte buffer.
MAX_LOG_LINE = 1000

_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"", "0", "no", "false", "off"})


# --- Configuration -----------------------------------------------------------------


class NotifierError(Exception):
    """
    The notifier cannot run as asked (bad arguments, a bad option, no spool).

    @ivar reason: what is wrong, in words (logged as an C{ERROR:} line).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def recipientTarget(recipientUri: str) -> str:
    """
    The URI events for C{recipientUri} are delivered to.

    @param recipientUri: C{argv[1]}, the subscription's C{notify-recipient-uri}.
    @return: C{recipientUri} itself, except that C{ipp-ntfy://HOST[:PORT]/PATH}
        becomes C{https://...}, or C{http://...} with the query parameter
        C{tls=no} (which is removed).
    @raise NotifierError: for a URI the delivery method cannot deliver to.
    """
    target = recipientUri
    try:
        parts = urlsplit(recipientUri)
    except ValueError as e:
        raise NotifierError(
            f"not a valid recipient URI ({e}): {recipientUri}"
        ) from None
    if parts.scheme.lower() == "ipp-ntfy":
        query = parse_qsl(parts.query, keep_blank_values=True)
        tls = [value for name, value in query if name == "tls"]
        rest = [(name, value) for name, value in query if name != "tls"]
        secure = True
        if tls:
            if tls[-1].lower() in _FALSE - {""}:
                secure = False
            elif tls[-1].lower() not in _TRUE:
                raise NotifierError(
                    f"tls={tls[-1]} in {recipientUri}: say tls=yes or tls=no"
                )
        target = urlunsplit(
            (
                "https" if secure else "http",
                parts.netloc,
                parts.path,
                urlencode(rest),
                parts.fragment,
            )
        )
    try:
        httpTarget(target)
    except RecipientError as e:
        raise NotifierError(str(e)) from None
    return target


def _safeUri(uri: str) -> str:
    """
    C{uri} without credentials, query or fragment, for log lines (a listener URI
    may carry a token).
    """
    try:
        parts = urlsplit(uri)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(unreadable URI)"


def spoolPath(directory: str, recipientUri: str) -> str:
    """
    @return: the spool file of C{recipientUri}: C{<directory>/<sha256 hex of the
        URI>.sqlite3}.
    """
    digest = hashlib.sha256(recipientUri.encode("utf-8")).hexdigest()
    return os.path.join(directory, digest + ".sqlite3")


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise NotifierError(f"{name}={text}: a number of seconds, 0 or more")
    return value


def tlsPolicyFromEnvironment(environ: Mapping[str, str]) -> ClientTLSPolicy:
    """
    The TLS policy for https listeners, from C{IPP_NTFY_CA_FILE},
    C{IPP_NTFY_PINS}, C{IPP_NTFY_CLIENT_CERT}, C{IPP_NTFY_CLIENT_KEY},
    C{IPP_NTFY_INSECURE} and C{IPP_NTFY_TLS_MIN_VERSION}; with none of them,
    certificates and host names are verified against the system's trust roots.

    @raise NotifierError: for a bad value, naming the variable.
    """
    insecureText = environ.get("IPP_NTFY_INSECURE", "").strip().lower()
    if insecureText not in _TRUE | _FALSE:
        raise NotifierError(
            f"IPP_NTFY_INSECURE={environ['IPP_NTFY_INSECURE']}: say yes or no"
        )
    pins = [p for p in re.split(r"[\s,]+", environ.get("IPP_NTFY_PINS", "")) if p]
    names = {
        "caFile": "IPP_NTFY_CA_FILE",
        "pins": "IPP_NTFY_PINS",
        "clientCertificate": "IPP_NTFY_CLIENT_CERT",
        "clientKey": "IPP_NTFY_CLIENT_KEY",
        "insecure": "IPP_NTFY_INSECURE",
        "minimumTLSVersion": "IPP_NTFY_TLS_MIN_VERSION",
    }
    try:
        return policyFor(
            caFile=environ.get("IPP_NTFY_CA_FILE") or None,
            pins=pins,
            clientCertificate=environ.get("IPP_NTFY_CLIENT_CERT") or None,
            clientKey=environ.get("IPP_NTFY_CLIENT_KEY") or None,
            insecure=insecureText in _TRUE,
            minimumTLSVersion=environ.get("IPP_NTFY_TLS_MIN_VERSION") or "1.2",
        )
    except TLSConfigError as e:
        option = names.get(getattr(e, "option", None) or "", "TLS options")
        raise NotifierError(f"{option}: {e}") from None


def _describeTrust(environ: Mapping[str, str]) -> str:
    """
    @return: how https listeners are checked, in words, for the log.
    """
    if environ.get("IPP_NTFY_INSECURE", "").strip().lower() in _TRUE:
        return "not verified (IPP_NTFY_INSECURE)"
    ways = []
    if environ.get("IPP_NTFY_PINS", "").strip():
        ways.append("pinned keys (IPP_NTFY_PINS)")
    caFile = environ.get("IPP_NTFY_CA_FILE")
    ways.append(f"CA file {caFile}" if caFile else "the system's trust roots")
    if environ.get("IPP_NTFY_CLIENT_CERT"):
        ways.append(f"client certificate {environ['IPP_NTFY_CLIENT_CERT']}")
    return ", ".join(ways)


@dataclass(frozen=True)
class NotifierConfig:
    """
    What one notifier run needs, from its arguments and environment.

    @ivar recipientUri: C{argv[1]}.
    @ivar target: where events are delivered (L{recipientTarget}).
    @ivar userData: C{argv[2]}, decoded.
    @ivar spoolDirectory: where the spool file is.
    @ivar drainSeconds: C{IPP_NTFY_DRAIN_SECONDS}.
    @ivar maxAge: C{IPP_NTFY_MAX_AGE}.
    @ivar timeout: C{IPP_NTFY_TIMEOUT}.
    """

    recipientUri: str
    target: str
    userData: bytes
    spoolDirectory: str
    drainSeconds: float = DEFAULT_DRAIN_SECONDS
    maxAge: float = DEFAULT_MAX_AGE
    timeout: float = DEFAULT_TIMEOUT

    @property
    def spoolFile(self) -> str:
        return spoolPath(self.spoolDirectory, self.recipientUri)

    @property
    def lockFile(self) -> str:
        return self.spoolFile[: -len(".sqlite3")] + ".lock"


def configFromEnvironment(
    argv: Sequence[str], environ: Mapping[str, str]
) -> NotifierConfig:
    """
    Read the arguments cupsd gives (C{argv[1]} the recipient URI, C{argv[2]} the
    base64 user data) and the options of the environment (see the module
    docstring; TLS options are read by L{tlsPolicyFromEnvironment}).

    @raise NotifierError: for missing arguments or a bad value.
    """
    if len(argv) not in (2, 3):
        raise NotifierError(
            "usage: notifier RECIPIENT-URI [BASE64-USER-DATA] "
            "(cupsd runs it with the events on standard input)"
        )
    recipientUri = argv[1]
    target = recipientTarget(recipientUri)
    userData = b""
    if len(argv) == 3 and argv[2]:
        try:
            userData = base64.b64decode(argv[2], validate=True)
        except (binascii.Error, ValueError):
            raise NotifierError(f"user data is not base64: {argv[2]!r}") from None
    directory = environ.get("IPP_NTFY_SPOOL_DIR") or ""
    if not directory:
        cache = environ.get("CUPS_CACHEDIR")
        if not cache:
            raise NotifierError(
                "neither CUPS_CACHEDIR (set by cupsd) nor IPP_NTFY_SPOOL_DIR is set: "
                "no place for the spool"
            )
        directory = os.path.join(cache, "ipp-ntfy")
    return NotifierConfig(
        recipientUri=recipientUri,
        target=target,
        userData=userData,
        spoolDirectory=directory,
        drainSeconds=_number(environ, "IPP_NTFY_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS),
        maxAge=_number(environ, "IPP_NTFY_MAX_AGE", DEFAULT_MAX_AGE) or DEFAULT_MAX_AGE,
        timeout=_number(environ, "IPP_NTFY_TIMEOUT", DEFAULT_TIMEOUT)
        or DEFAULT_TIMEOUT,
    )


def _makeSpoolDirectory(directory: str) -> None:
    """
    Create the spool directory, mode 0700, if it is missing.

    @raise NotifierError: if it cannot be created or is not a directory.
    """
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        if not os.path.isdir(directory):
            raise NotifierError(f"{directory} is not a directory") from None
    except OSError as e:
        raise NotifierError(
            f"cannot create the spool directory {directory}: {e.strerror}"
        ) from None
    else:
        # mkdir's mode is cut by the umask; say it exactly.
        os.chmod(directory, 0o700)


# --- Logging to cupsd ----------------------------------------------------------------

_PREFIXES = {
    LogLevel.debug: "DEBUG",
    LogLevel.info: "INFO",
    LogLevel.warn: "WARNING",
    LogLevel.error: "ERROR",
    LogLevel.critical: "ERROR",
}


@implementer(ILogObserver)
class CupsLogObserver:
    """
    Writes log events as the lines cupsd reads from a notifier's standard error:
    C{"INFO: [ipp-ntfy RECIPIENT] text"}, one C{write} per line (the pipe is shared
    by every notifier), each under cupsd's 1024-byte line buffer.

    Levels: debug C{DEBUG:}, info C{INFO:}, warn C{WARNING:}, error and critical
    C{ERROR:}; Twisted's own info messages (connections starting and stopping)
    are C{DEBUG:}.  A failure adds its error message to the line, and its
    traceback as C{DEBUG:} lines.

    @param stream: a text stream, or anything with a C{fileno()} (written with
        C{os.write}).
    @param tag: said at the start of every line (the recipient).
    """

    def __init__(self, stream: Union[TextIO, IO[bytes]], tag: str = "") -> None:
        self.stream = stream
        self.tag = f"[ipp-ntfy {tag}] " if tag else "[ipp-ntfy] "
        self._fd: Optional[int] = None
        try:
            self._fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def lines(self, event: Mapping[str, Any]) -> List[str]:
        """
        @return: the lines (with their newline) for one log event.
        """
        level = event.get("log_level", LogLevel.info)
        prefix = _PREFIXES.get(level, "INFO")
        namespace = event.get("log_namespace") or ""
        if prefix == "INFO" and namespace.startswith("twisted."):
            prefix = "DEBUG"
        text = formatEvent(dict(event)) or ""
        failure = event.get("log_failure")
        traceback: List[str] = []
        if isinstance(failure, Failure):
            message = failure.getErrorMessage()
            kind = failure.type.__name__ if failure.type else "error"
            text = f"{text}: {kind}: {message}" if text else message
            traceback = failure.getTraceback().splitlines()
        result = [
            self._line(prefix, part) for part in (text.splitlines() or [""]) if part
        ]
        result.extend(self._line("DEBUG", part) for part in traceback if part.strip())
        return result

    def _line(self, prefix: str, text: str) -> str:
        line = f"{prefix}: {self.tag}{text}"
        if len(line.encode("utf-8")) > MAX_LOG_LINE:
            line = line.encode("utf-8")[: MAX_LOG_LINE - 3].decode("utf-8", "ignore")
            line += "..."
        return line + "\n"

    def __call__(self, event: Mapping[str, Any]) -> None:
        for line in self.lines(event):
            try:
                if self._fd is not None:
                    os.write(self._fd, line.encode("utf-8", "replace"))
                else:
                    stream: Any = self.stream
                    stream.write(line)
                    stream.flush()
            except (OSError, ValueError):
                # cupsd went away: there is nobody to tell.
                return


# --- The delivery lock ---------------------------------------------------------------


class SpoolLock:
    """
    The lock that makes one notifier process, of those sharing a spool, the one
    that delivers: an exclusive C{flock} on a file next to the spool, released when
    the process ends however it ends.

    @param path: the lock file (created, mode 0600).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: Optional[int] = None
        self.held = False

    def acquire(self) -> bool:
        """
        Take the lock if nobody holds it.

        @return: whether this process holds it now.
        @raise OSError: if the lock file cannot be opened.
        """
        if self.held:
            return True
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self.held = True
        return True

    def release(self) -> None:
        """
        Let go of the lock (and close the file).
        """
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.held = False


# --- The notifier --------------------------------------------------------------------


def _unchanged(event: Event, subscription: Subscription, sequence: int) -> Event:
    """
    The Dispatcher's C{prepare}: events go out as cupsd made them, with its
    subscription id and sequence number.
    """
    return event


def _cursorName(subscriptionId: int) -> str:
    return f"cups-subscription:{subscriptionId}"


@dataclass
class _Upstream:
    """
    One CUPS subscription seen on standard input.

    @ivar localId: its local subscription in the spool.
    @ivar lastSequence: the last of its sequence numbers spooled.
    @ivar cancelled: whether the listener cancelled it.
    """

    localId: int
    lastSequence: int = 0
    cancelled: bool = False
    told: bool = False

    def cursor(self) -> str:
        return f"{self.localId} {self.lastSequence}"

    @classmethod
    def fromCursor(cls, value: Optional[str]) -> Optional[_Upstream]:
        try:
            localId, lastSequence = (int(part) for part in (value or "").split())
        except ValueError:
            return None
        return cls(localId, lastSequence)


class CupsNotifier:
    """
    What the notifier does with its standard input, over an open spool: events are
    spooled in order as they come (L{dataReceived}), delivered by C{dispatcher} while
    this process holds the spool's L{SpoolLock}, and at the end (L{inputEnded},
    L{badInput} or L{stop}) the deliveries are drained and L{finished} fires with
    the exit status.

    @param config: the run's L{NotifierConfig}.
    @param store: the open spool.
    @param clock: the reactor's time.
    @param dispatcher: delivers from C{store}; C{None} when delivery is not
        possible (a bad TLS option): events are then only spooled.
    @param lock: the spool's delivery lock (C{None}: deliver without one).
    @param pauseInput: called when no more input is wanted.

    @ivar finished: fires with the exit status once everything is recorded.
    """

    log = Logger()

    def __init__(
        self,
        config: NotifierConfig,
        store: ISubscriptionStore,
        clock: IReactorTime,
        dispatcher: Optional[Dispatcher],
        lock: Optional[SpoolLock] = None,
        pauseInput: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.lock = lock
        self.pauseInput = pauseInput
        self.finished: Deferred[int] = Deferred()
        self.exitCode = 0 if dispatcher is not None else 1
        self._stream = MessageStream()
        self._unparsed = bytearray()
        self._work: Deferred[None] = succeed(None)
        self._upstreams: Dict[int, _Upstream] = {}
        self._inputOpen = True
        self._ending = False
        self._stopping = False
        self._lockCall: Optional[IDelayedCall] = None
        self._sleep: Optional[Tuple[Deferred[None], IDelayedCall]] = None
        self._toldWaiting = False

    # -- starting -------------------------------------------------------------------

    def start(self) -> None:
        """
        Start delivering (what the spool holds from earlier runs, too) once this
        process holds the delivery lock.
        """
        if self.dispatcher is not None:
            self._takeLock()

    def _takeLock(self) -> None:
        self._lockCall = None
        if self._stopping or self.dispatcher is None:
            return
        try:
            held = self.lock is None or self.lock.acquire()
        except OSError as e:
            self.log.error(
                "cannot open the lock file {path}: {error}",
                path=self.lock.path if self.lock else "",
                error=e.strerror,
            )
            self._fail()
            return
        if held:
            self.log.debug(
                "delivering to {target}", target=_safeUri(self.config.target)
            )
            self.dispatcher.startService()
            return
        if not self._toldWaiting:
            self._toldWaiting = True
            self.log.info(
                "another notifier is delivering from this spool; events are spooled "
                "for it"
            )
        self._lockCall = self.clock.callLater(LOCK_RETRY_SECONDS, self._takeLock)

    # -- input ----------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        """
        Take the next octets of standard input: spool the events they complete.
        """
        if not self._inputOpen or not data:
            return
        start = self._stream.offset
        self._unparsed += data
        try:
            messages = self._stream.feed(data)
        except IppDecodeError as e:
            # The messages this chunk completed before the fault still count.
            good = bytes(self._unparsed[: self._stream.offset - start])
            self._take(MessageStream().feed(good) if good else [], start)
            self.badInput(e.offset, e.reason)
            return
        self._take(messages, start)

    def _take(self, messages: List[Message], start: int) -> None:
        events: List[Event] = []
        position = 0
        receivedAt = datetime.datetime.fromtimestamp(
            self.clock.seconds(), datetime.timezone.utc
        )
        unparsed = bytes(self._unparsed) if messages else b""
        for message in messages:
            end = messageLength(unparsed, position)
            try:
                events.append(
                    eventFromNotifierMessage(
                        message, source=SOURCE, receivedAt=receivedAt
                    )
                )
            except NotificationError as e:
                del self._unparsed[:position]
                self._spool(events)
                self.badInput(start + position, f"not an event: {e}")
                return
            position = end if end is not None else len(self._unparsed)
        del self._unparsed[:position]
        self._spool(events)

    def inputEnded(self) -> None:
        """
        Standard input is at its end: the subscription was cancelled or has
        expired.  Deliver what is spooled, for at most
        C{config.drainSeconds}, and finish.
        """
        if not self._inputOpen:
            return
        self._inputOpen = False
        try:
            self._stream.close()
        except IppDecodeError as e:
            self.log.error(
                "standard input ends inside an event message at offset {offset}: "
                "{reason}",
                offset=e.offset,
                reason=e.reason,
            )
            self.exitCode = 1
        self.log.info(
            "end of the events (the subscription ended); delivering what is "
            "spooled, for {seconds:g} s at most",
            seconds=self.config.drainSeconds,
        )
        self._end(drain=True)

    def badInput(self, offset: int, reason: str) -> None:
        """
        Standard input is not a stream of event messages: log it with the offset,
        read no more, and finish with exit status 1 once the events before it are
        spooled.
        """
        if not self._inputOpen:
            return
        self.log.error(
            "bad event on standard input at offset {offset}: {reason}",
            offset=offset,
            reason=reason,
        )
        self._fail()

    def _fail(self) -> None:
        """
        Read no more, and finish with exit status 1 once what was read is
        spooled.
        """
        self.exitCode = 1
        if self._inputOpen:
            self._inputOpen = False
            self.pauseInput()
        self._end(drain=False)

    def stop(self) -> None:
        """
        Stop now (SIGTERM): spool what was read, record the deliveries under way,
        and finish without draining.
        """
        self._stopping = True
        if self._sleep is not None:
            waiting, call = self._sleep
            self._sleep = None
            if call.active():
                call.cancel()
            waiting.callback(None)
        if self._inputOpen:
            self._inputOpen = False
            self.pauseInput()
            self.log.info("stopping")
            self._end(drain=False)

    # -- spooling -------------------------------------------------------------------

    def _spool(self, events: List[Event]) -> None:
        if events:
            self._work.addCallback(lambda _: self._append(events))

    @inlineCallbacks
    def _append(self, events: List[Event]) -> Any:
        try:
            entries: List[Tuple[int, bytes]] = []
            owners: List[Tuple[int, _Upstream]] = []
            touched: Dict[int, _Upstream] = {}
            for event in events:
                upstream = yield self._upstreamFor(event)
                if upstream.cancelled:
                    self._tellDropped(event.subscriptionId, upstream)
                    continue
                if event.sequenceNumber <= upstream.lastSequence:
                    self.log.debug(
                        "event {sequence} of subscription {subscriptionId} is "
                        "spooled already",
                        sequence=event.sequenceNumber,
                        subscriptionId=event.subscriptionId,
                    )
                    continue
                entries.append((upstream.localId, eventToPayload(event)))
                owners.append((event.subscriptionId, upstream))
                upstream.lastSequence = event.sequenceNumber
                touched[event.subscriptionId] = upstream
            if not entries:
                return
            # Asked for in one reactor turn: one transaction of the store.
            appended = self.store.appendEvents(entries, self.clock.seconds())
            cursors = [
                self.store.setCursor(_cursorName(subscriptionId), upstream.cursor())
                for subscriptionId, upstream in touched.items()
            ]
            sequences = yield appended
            yield gatherResults(cursors, consumeErrors=True)
            for (subscriptionId, upstream), sequence in zip(owners, sequences):
                if sequence == 0:
                    # The dispatcher cancelled it meanwhile.
                    upstream.cancelled = True
                    self._tellDropped(subscriptionId, upstream)
            spooled = sum(1 for sequence in sequences if sequence)
            if spooled:
                self.log.debug("spooled {count} events", count=spooled)
            if self.dispatcher is not None and self.dispatcher.running:
                self.dispatcher.wake()
        except Exception as e:
            error = e.subFailure.value if hasattr(e, "subFailure") else e
            self.log.error(
                "cannot spool events in {path}: {error}",
                path=self.config.spoolFile,
                error=error,
            )
            self._fail()

    @inlineCallbacks
    def _upstreamFor(self, event: Event) -> Any:
        """
        The local subscription of the event's CUPS subscription, made on first
        use (and again when the CUPS subscription starts over at sequence 1: cupsd
        gave its id to a new subscription).
        """
        subscriptionId = event.subscriptionId
        upstream = self._upstreams.get(subscriptionId)
        if upstream is None:
            value = yield self.store.getCursor(_cursorName(subscriptionId))
            upstream = _Upstream.fromCursor(value)
            if upstream is not None:
                local = yield self.store.getSubscription(upstream.localId)
                upstream.cancelled = local is None
        if upstream is None or (
            event.sequenceNumber == 1 and upstream.lastSequence > 1
        ):
            now = self.clock.seconds()
            local = yield self.store.createSubscription(
                Subscription(
                    0,
                    printerUri=event.printerUri or "ipp://localhost/",
                    events=("all",),
                    recipientUri=self.config.target,
                    userData=(event.userData or self.config.userData)[:63],
                    leaseDuration=0,
                    subscriberUserName="cupsd",
                    createdAt=now,
                )
            )
            upstream = _Upstream(local.subscriptionId)
            self.log.info(
                "spooling the events of CUPS subscription {subscriptionId} in {path}",
                subscriptionId=subscriptionId,
                path=self.config.spoolFile,
            )
        self._upstreams[subscriptionId] = upstream
        return upstream

    def _tellDropped(self, subscriptionId: int, upstream: _Upstream) -> None:
        if not upstream.told:
            upstream.told = True
            self.log.info(
                "the listener cancelled subscription {subscriptionId}: its events "
                "are dropped (cancel it in CUPS)",
                subscriptionId=subscriptionId,
            )

    # -- ending ---------------------------------------------------------------------

    def _end(self, drain: bool) -> None:
        if self._ending:
            return
        self._ending = True
        d = self._work.addCallback(lambda _: self._drain() if drain else None)
        d.addCallback(lambda _: self._shutDown(ended=drain))
        d.addErrback(lambda f: self.log.failure("finishing failed", f))
        d.addBoth(lambda _: self.finished.callback(self.exitCode))

    @inlineCallbacks
    def _drain(self) -> Any:
        if self.dispatcher is None:
            return
        deadline = self.clock.seconds() + self.config.drainSeconds
        while not self._stopping:
            depth = yield self.store.queueDepth()
            if depth == 0:
                self.log.info("every spooled event is delivered")
                return
            remaining = deadline - self.clock.seconds()
            if remaining <= 0:
                self.log.info(
                    "{count} events stay in the spool for the next run",
                    count=depth,
                )
                return
            waiting: Deferred[None] = Deferred()
            call = self.clock.callLater(
                min(DRAIN_POLL_SECONDS, remaining), waiting.callback, None
            )
            self._sleep = (waiting, call)
            yield waiting
            self._sleep = None

    @inlineCallbacks
    def _shutDown(self, ended: bool) -> Any:
        """
        Stop delivering, and tidy the spool.

        @param ended: whether the input ended (the CUPS subscription is over):
            then its local subscription goes too, if nothing of it is left to
            deliver.
        """
        if self._lockCall is not None and self._lockCall.active():
            self._lockCall.cancel()
        self._lockCall = None
        if self.dispatcher is not None and self.dispatcher.running:
            stopping = self.dispatcher.stopService()
            assert stopping is not None
            stopping.addTimeout(STOP_TIMEOUT_SECONDS, self.clock)
            try:
                yield stopping
            except Exception:
                self.log.warn(
                    "deliveries still under way after {seconds:g} s are sent again "
                    "next time",
                    seconds=STOP_TIMEOUT_SECONDS,
                )
            # stopService does not wait for a look at the queue under way (at
            # most two reads, dueEvents then nextDue); the store answers in
            # order, so two reads of ours end after it, and the store can close.
            for _ in range(2):
                yield self.store.queueDepth()
        try:
            if ended:
                yield self._forget()
            yield self.store.pruneHistory(HISTORY_KEPT, self.clock.seconds())
        except Exception as e:
            self.log.warn("tidying the spool failed: {error}", error=e)

    @inlineCallbacks
    def _forget(self) -> Any:
        """
        Delete the local subscriptions (and cursors) of the CUPS subscriptions
        this run read, once nothing of theirs is queued: cupsd has ended them.
        A per-job subscription (C{lp -o notify-recipient-uri=...}) is one per job,
        so the spool would otherwise keep growing.
        """
        for subscriptionId, upstream in self._upstreams.items():
            if upstream.cancelled:
                yield self.store.setCursor(_cursorName(subscriptionId), None)
                continue
            depth = yield self.store.queueDepth(upstream.localId)
            if depth == 0:
                yield self.store.cancelSubscription(upstream.localId)
                yield self.store.setCursor(_cursorName(subscriptionId), None)


# --- The program ---------------------------------------------------------------------


class _InputReader:
    """
    Reads a file descriptor (standard input) into a L{CupsNotifier}.
    """

    def __init__(self, reactor: Any, fd: int, notifier: CupsNotifier) -> None:
        from twisted.internet.process import ProcessReader

        self.notifier = notifier
        self.reader = ProcessReader(reactor, self, "stdin", fd)

    def childDataReceived(self, name: str, data: bytes) -> None:
        self.notifier.dataReceived(data)

    def childConnectionLost(self, name: str, reason: Failure) -> None:
        self.notifier.inputEnded()

    def stop(self) -> None:
        self.reader.stopReading()


def _stopAll(readers: List[_InputReader]) -> None:
    for reader in readers:
        reader.stop()


def _fileno(stdin: Union[int, Any]) -> int:
    return stdin if isinstance(stdin, int) else int(stdin.fileno())


@inlineCallbacks
def main(
    argv: Sequence[str],
    stdin: Union[int, Any],
    environ: Mapping[str, str],
    reactor: Any,
    stderr: Optional[Union[TextIO, IO[bytes]]] = None,
    stop: Optional[Deferred[None]] = None,
) -> Any:
    """
    Run the notifier on C{reactor} (which must be running) until its input ends.

    @param argv: as cupsd gives it: the program, the recipient URI, the base64
        user data.
    @param stdin: the event stream: a file descriptor, or a file with
        C{fileno()}.
    @param environ: the environment (options, C{CUPS_CACHEDIR}).
    @param reactor: the reactor.
    @param stderr: when given, log events go there as cupsd's log lines (for
        the duration of the run), through L{CupsLogObserver}; otherwise the
        caller has set up logging.
    @param stop: fire it to stop at once (what SIGTERM does).
    @return: a Deferred that fires with the exit status: 0 once the input ended
        and the spool drained (or the drain time passed), 1 after bad input or a
        bad option.
    """
    observer: Optional[CupsLogObserver] = None
    if stderr is not None:
        tag = _safeUri(argv[1]) if len(argv) > 1 else ""
        observer = CupsLogObserver(stderr, tag)
        globalLogPublisher.addObserver(observer)
    log = Logger(namespace=__name__)
    store: Optional[SQLiteStore] = None
    lock: Optional[SpoolLock] = None
    delivery: Optional[HttpDeliveryMethod] = None
    try:
        try:
            config = configFromEnvironment(argv, environ)
        except NotifierError as e:
            log.error("{reason}", reason=e.reason)
            return 1
        policy: Optional[ClientTLSPolicy] = None
        try:
            policy = tlsPolicyFromEnvironment(environ)
        except NotifierError as e:
            log.error(
                "{reason}; events are spooled but not delivered until it is fixed",
                reason=e.reason,
            )
        try:
            _makeSpoolDirectory(config.spoolDirectory)
        except NotifierError as e:
            log.error("{reason}", reason=e.reason)
            return 1
        try:
            store = yield SQLiteStore.open(config.spoolFile, reactor)
        except Exception as e:
            log.error(
                "cannot open the spool {path}: {error}",
                path=config.spoolFile,
                error=e,
            )
            return 1
        assert store is not None
        lock = SpoolLock(config.lockFile)
        dispatcher: Optional[Dispatcher] = None
        if policy is not None:
            delivery = HttpDeliveryMethod(
                reactor,
                tlsPolicy=policy,
                requestTimeout=config.timeout,
                connectTimeout=min(config.timeout, 10.0),
            )
            dispatcher = Dispatcher(
                store,
                delivery,
                reactor,
                RetryPolicy(maxAge=config.maxAge),
                prepare=_unchanged,
            )
        reader: List[_InputReader] = []
        notifier = CupsNotifier(
            config,
            store,
            reactor,
            dispatcher,
            lock,
            pauseInput=lambda: _stopAll(reader),
        )
        log.debug(
            "ipp_ntfy {version}: delivering to {target} (TLS: {trust}), spool {path}",
            version=__version__,
            target=_safeUri(config.target),
            trust=_describeTrust(environ),
            path=config.spoolFile,
        )
        reader.append(_InputReader(reactor, _fileno(stdin), notifier))
        notifier.start()
        if stop is not None:
            stop.addCallback(lambda _: notifier.stop())
        code = yield notifier.finished
        log.info("done (exit status {code})", code=code)
        return code
    finally:
        if store is not None:
            try:
                yield store.close()
            except Exception as e:
                log.error("closing the spool failed: {error}", error=e)
        if lock is not None:
            lock.release()
        if delivery is not None:
            yield delivery.pool.closeCachedConnections()
        if observer is not None:
            globalLogPublisher.removeObserver(observer)


def runNotifier(
    argv: Sequence[str],
    stdin: int = 0,
    environ: Optional[Mapping[str, str]] = None,
    stderr: Optional[TextIO] = None,
) -> int:
    """
    Run the notifier as a program: start the global reactor, log to C{stderr} as
    cupsd reads it, stop cleanly on SIGTERM and SIGINT.

    @return: the exit status.
    """
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    stream = stderr if stderr is not None else sys.stderr
    tag = _safeUri(argv[1]) if len(argv) > 1 else ""
    globalLogBeginner.beginLoggingTo(
        [CupsLogObserver(stream, tag)], redirectStandardIO=False
    )
    stopping: Deferred[None] = Deferred()
    codes: List[int] = []

    def onSignal(signum: int, frame: object) -> None:
        reactor.callFromThread(
            lambda: None if stopping.called else stopping.callback(None)
        )

    def begin() -> None:
        d = main(
            argv,
            stdin,
            os.environ if environ is None else environ,
            reactor,
            stop=stopping,
        )
        d.addCallback(codes.append)
        d.addErrback(lambda f: Logger().failure("the notifier failed", f))
        d.addBoth(lambda _: reactor.callLater(0, reactor.stop))

    previous = {
        signum: signal.signal(signum, onSignal)
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        reactor.callWhenRunning(begin)
        reactor.run(installSignalHandlers=False)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return codes[0] if codes else 1


def _check() -> int:
    """
    C{notifier --check}: prove that this interpreter, as this user, can load the
    notifier and everything it needs (L{installNotifiers} runs it as cupsd's
    user).
    """
    import OpenSSL  # noqa: F401
    import service_identity  # noqa: F401

    import ipp_ntfy

    sys.stdout.write(
        f"ok: ipp_ntfy {__version__} from {os.path.dirname(ipp_ntfy.__file__)}, "
        f"Python {sys.version.split()[0]} ({sys.executable})\n"
    )
    return 0


def run(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """
    The entry point of the installed notifier scripts: run the notifier with
    C{sys.argv}, standard input and the environment, and exit with its status.
    C{--check} as the only argument checks the installation instead.
    """
    args = list(sys.argv if argv is None else argv)
    if args[1:] == ["--check"]:
        sys.exit(_check())
    sys.exit(runNotifier(args))


# --- Installing ----------------------------------------------------------------------

#: The line that marks a notifier script as ours (and so safe to overwrite).
MARKER = "# Written by ipp-ntfy install-cups-notifier"

_SITE_DIRECTORIES = ("site-packages", "dist-packages")


class InstallError(Exception):
    """
    The notifiers cannot be installed as asked.

    @ivar reason: why, in words.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def defaultServerBin() -> str:
    """
    @return: cupsd's ServerBin: what C{cups-config --serverbin} says, or
        C{/usr/lib/cups}.
    """
    try:
        result = subprocess.run(
            ["cups-config", "--serverbin"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "/usr/lib/cups"
    path = result.stdout.strip()
    return path if result.returncode == 0 and path else "/usr/lib/cups"


def packagePath() -> Optional[str]:
    """
    @return: the directory to put on the notifier's C{sys.path} so that it finds
        this ipp_ntfy: the one that holds the package, unless that is a
        C{site-packages} or C{dist-packages} directory (an installed package
        is found without help).
    """
    import ipp_ntfy

    parent = os.path.dirname(os.path.dirname(os.path.abspath(ipp_ntfy.__file__)))
    if os.path.basename(parent) in _SITE_DIRECTORIES:
        return None
    return parent


def notifierScript(python: str, paths: Sequence[str] = ()) -> str:
    """
    The text of a notifier script.

    @param python: the absolute path of the interpreter (run with C{-I}: no
        user site, no C{PYTHON*} variables, not the script's directory).
    @param paths: directories put first on C{sys.path}.
    """
    lines = [
        f"#!{python} -I",
        f"{MARKER}: cupsd runs it for push subscriptions",
        "# whose notify-recipient-uri scheme is this file's name.  Running the command",
        "# again updates it; see ipp_ntfy.sources.cups_notifier.",
        "import sys",
        "",
    ]
    if paths:
        lines.append(f"sys.path[:0] = {list(paths)!r}")
    lines += ["from ipp_ntfy.sources.cups_notifier import run", "", "run()", ""]
    return "\n".join(lines)


def _checkDirectory(path: str, isRoot: bool) -> None:
    info = os.stat(path)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InstallError(
            f"{path} is writable by group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}), so cupsd would refuse to run "
            f"notifiers from it: chmod go-w {path}"
        )
    if isRoot and info.st_uid != 0:
        raise InstallError(
            f"{path} is not owned by root, so cupsd would refuse to run notifiers "
            f"from it: chown root {path}"
        )


def _privateDirectory(path: str) -> Optional[str]:
    """
    @return: the first directory on the way to C{path} that others cannot search
        (so that cupsd's user cannot reach C{path}), or C{None}.
    """
    directory = os.path.dirname(os.path.abspath(path))
    ancestors = []
    while True:
        ancestors.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for directory in reversed(ancestors):
        try:
            if not os.stat(directory).st_mode & stat.S_IXOTH:
                return directory
        except OSError:
            return directory
    return None


def _runsAs(script: str, user: str) -> Optional[str]:
    """
    Run C{script --check} as C{user}, as cupsd would run it.

    @return: what went wrong, or C{None} if it ran.
    """
    entry = pwd.getpwnam(user)
    try:
        result = subprocess.run(
            [script, "--check"],
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            umask=0o077,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        return output[-1] if output else f"exit status {result.returncode}"
    return None


def installNotifiers(
    serverBin: str,
    *,
    schemes: Sequence[str] = DEFAULT_SCHEMES,
    python: Optional[str] = None,
    paths: Sequence[str] = (),
    force: bool = False,
    user: Optional[str] = "lp",
    say: Callable[[str], None] = lambda line: None,
) -> List[str]:
    """
    Install the notifier as C{<serverBin>/notifier/<scheme>} for each scheme.

    Each file is a script for C{python} (mode 0755, owned by root when run as
    root) that calls L{run}.  The checkout this ipp_ntfy comes from, when it is
    not an installed package, is put on the script's C{sys.path}
    (L{packagePath}), after C{paths}.  Before a script takes its place, it is run
    with C{--check} as C{user} (when run as root), since cupsd runs notifiers as
    its C{User}: that proves the interpreter and ipp_ntfy are readable by it.

    @param serverBin: cupsd's ServerBin (L{defaultServerBin}).
    @param schemes: the recipient schemes, among L{SCHEMES}.
    @param python: the interpreter; by default this one.
    @param paths: more directories for the script's C{sys.path}.
    @param force: replace a file this command did not write.
    @param user: cupsd's C{User} for the check, or C{None} for no check.
    @param say: called with a line for each thing done.
    @return: the files written.
    @raise InstallError: if something is in the way (nothing is then changed
        for that scheme and the ones after it).
    """
    python = os.path.abspath(python or sys.executable)
    if re.search(r"\s", python) or len(python) > 120:
        raise InstallError(
            f"{python!r} cannot be a script's interpreter (no spaces, at most 120 "
            "characters)"
        )
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise InstallError(f"{python} is not an executable file")
    for scheme in schemes:
        if scheme not in SCHEMES:
            raise InstallError(
                f"unknown scheme {scheme!r}: choose among {', '.join(SCHEMES)}"
            )
    if not os.path.isdir(serverBin):
        raise InstallError(f"{serverBin} is not a directory (is CUPS installed?)")
    isRoot = os.geteuid() == 0
    directory = os.path.join(serverBin, "notifier")
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o755)
        os.chmod(directory, 0o755)
        if isRoot:
            os.chown(directory, 0, 0)
        say(f"created {directory}")
    _checkDirectory(directory, isRoot)
    checkout = packagePath()
    allPaths = [os.path.abspath(p) for p in paths]
    if checkout is not None and checkout not in allPaths:
        allPaths.append(checkout)
        say(f"ipp_ntfy comes from {checkout}: the notifier adds it to sys.path")
    text = notifierScript(python, allPaths)
    if user is not None and isRoot:
        try:
            pwd.getpwnam(user)
        except KeyError:
            say(f"no user {user}: not checking that cupsd's user can run it")
            user = None
    elif user is not None:
        say(f"not root: not checking that user {user} can run it")
        user = None
    written: List[str] = []
    for scheme in schemes:
        path = os.path.join(directory, scheme)
        verb = "wrote"
        if os.path.lexists(path):
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    existing = f.read(4096)
            except OSError as e:
                raise InstallError(f"cannot read {path}: {e.strerror}") from None
            if MARKER not in existing and not force:
                raise InstallError(
                    f"{path} exists and was not written by ipp-ntfy; "
                    "--force replaces it"
                )
            verb = "unchanged" if existing == text else "updated"
        fd, temporary = tempfile.mkstemp(prefix=f".{scheme}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fchmod(f.fileno(), 0o755)
                if isRoot:
                    os.fchown(f.fileno(), 0, 0)
                os.fsync(f.fileno())
            if user is not None:
                problem = _runsAs(temporary, user)
                if problem is not None:
                    for what, where in (("interpreter", python), ("notifier", path)):
                        private = _privateDirectory(where)
                        if private is not None:
                            problem = (
                                f"{private} is private, so {user} cannot reach the "
                                f"{what} ({problem})"
                            )
                            break
                if problem is not None:
                    raise InstallError(
                        f"user {user} (cupsd's User) cannot run the notifier with "
                        f"{python}: {problem}.  Install ipp_ntfy where {user} can "
                        "read it, or give --python (and --pythonpath)"
                    )
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        written.append(path)
        say(f"{verb} {path} (interpreter {python})")
    if user is not None:
        say(f"user {user} can run it")
    if not isRoot:
        say("not root: cupsd runs only notifiers owned by root; chown them")
    return written
