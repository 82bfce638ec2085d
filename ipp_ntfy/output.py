"""
A notification sink that writes each event as one line of JSON: what
C{twistd ipp-ntfy listen --output} uses.
"""

from __future__ import annotations

import json
import os
import stat
from typing import IO, Optional

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from zope.interface import implementer

from .interfaces import INotificationSink
from .notification import Event, ReportStatus


@implementer(INotificationSink)
class JSONLinesSink:
    """
    Writes each event's JSON form (L{Event.toJSON}) as one line, flushed (and, for
    a regular file, fsynced) before the event is acknowledged.

    A write that fails (disk full) fails the event, so the sender keeps it and
    retries.

    @param stream: a text stream open for writing.
    @param sync: fsync after each event when C{stream} is a file on disk.
    """

    log = Logger()

    def __init__(self, stream: IO[str], sync: bool = True) -> None:
        self.stream = stream
        self.count = 0
        self._fileno: Optional[int] = None
        if sync:
            try:
                fileno = stream.fileno()
            except (AttributeError, OSError, ValueError):
                fileno = None
            if fileno is not None and stat.S_ISREG(os.fstat(fileno).st_mode):
                self._fileno = fileno

    def receive(self, event: Event) -> Deferred[int]:
        try:
            self.stream.write(json.dumps(event.toJSON()) + "\n")
            self.stream.flush()
            if self._fileno is not None:
                os.fsync(self._fileno)
        except Exception:
            self.log.failure("could not write event")
            return fail()
        self.count += 1
        self.log.debug(
            "event {sequence} of subscription {subscriptionId}: {event}",
            subscriptionId=event.subscriptionId,
            sequence=event.sequenceNumber,
            event=event.event,
        )
        return succeed(int(ReportStatus.CONSUMED))
