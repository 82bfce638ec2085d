"""
Subscriptions (RFC 3995), sans I/O: the record, template validation, event matching
and leases computed on a given C{now}.

Nothing here reads a clock or touches storage: callers pass C{now} (seconds since the
epoch, from an injected C{IReactorTime}) and store the results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple

#: Lease given when the subscriber asks for none (notify-lease-duration-default).
DEFAULT_LEASE = 86400

#: The longest lease RFC 3995 section 5.3.8 allows (2**26 - 1 seconds).
MAX_LEASE = 67108863


@dataclass(frozen=True)
class Subscription:
    """
    One subscription object, as stored.

    @ivar subscriptionId: C{notify-subscription-id}, 1 or more; 0 before the store
        has assigned one.
    @ivar printerUri: C{notify-printer-uri}: the printer object it watches.
    @ivar jobId: C{notify-job-id} for a per-job subscription, C{None} for a
        per-printer one.
    @ivar recipientUri: C{notify-recipient-uri} of a push subscription, else C{None}.
    @ivar pullMethod: C{notify-pull-method} (C{"ippget"}) of a pull subscription,
        else C{None}.
    @ivar events: C{notify-events} keywords.
    @ivar userData: C{notify-user-data}, at most 63 octets.
    @ivar charset: C{notify-charset}.
    @ivar naturalLanguage: C{notify-natural-language}.
    @ivar leaseDuration: the granted C{notify-lease-duration} in seconds (0 for
        ever); C{None} for a per-job subscription, which has no lease.
    @ivar leaseExpiresAt: when the lease ends, in seconds since the epoch; C{None}
        if it never does.
    @ivar timeInterval: C{notify-time-interval}: at most one C{job-progress} event
        per this many seconds (0: every one).
    @ivar subscriberUserName: C{notify-subscriber-user-name}.
    @ivar createdAt: seconds since the epoch.
    @ivar lastSequence: the last C{notify-sequence-number} given to an event of this
        subscription (0 before the first).
    """

    subscriptionId: int
    printerUri: str
    events: Tuple[str, ...]
    recipientUri: Optional[str] = None
    pullMethod: Optional[str] = None
    jobId: Optional[int] = None
    userData: bytes = b""
    charset: str = "utf-8"
    naturalLanguage: str = "en"
    leaseDuration: Optional[int] = DEFAULT_LEASE
    leaseExpiresAt: Optional[float] = None
    timeInterval: int = 0
    subscriberUserName: str = "anonymous"
    createdAt: float = 0.0
    lastSequence: int = 0

    @property
    def isPush(self) -> bool:
        """
        Whether events are pushed to L{recipientUri} (else they are pulled).
        """
        return self.recipientUri is not None

    @property
    def isPerJob(self) -> bool:
        return self.jobId is not None

    def expired(self, now: float) -> bool:
        """
        @return: whether the lease has ended at C{now}.
        """
        return self.leaseExpiresAt is not None and now >= self.leaseExpiresAt

    def replace(self, **changes: object) -> Subscription:
        """
        @return: a copy with C{changes}.
        """
        return replace(self, **changes)  # type: ignore[arg-type]
