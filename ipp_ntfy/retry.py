"""
Retry timing for event delivery, sans I/O: capped exponential backoff with full
jitter, C{Retry-After}, and the maximum age after which an event is dead-lettered.

Like Twisted's C{twisted.application.internet.backoffPolicy}, a backoff policy is a
plain callable C{attempt -> delay}; unlike it, the jitter is "full" (the delay is
drawn from zero up to the cap, so that many senders that failed together do not
retry together) and it never touches the global C{random} state: randomness comes
from the C{jitter} callable, so C{random.Random(seed).random} makes it repeatable.
Nothing here reads a clock: C{now} is a parameter.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, Optional

#: Delay before the first retry, in seconds (DESIGN.md section 4).
DEFAULT_INITIAL_DELAY = 1.0

#: Growth of the delay cap per failed attempt.
DEFAULT_FACTOR = 2.0

#: The largest delay between two attempts: 5 minutes.
DEFAULT_MAX_DELAY = 300.0

#: How long an event is tried before it is dead-lettered: 24 hours.
DEFAULT_MAX_AGE = 86400.0

#: The longest C{Retry-After} honoured: 1 hour.
DEFAULT_RETRY_AFTER_CAP = 3600.0

#: The reason given for an event that reached L{RetryPolicy.maxAge}.
MAXIMUM_AGE_REACHED = "maximum age reached"

# A private generator, so that the default jitter neither reads nor disturbs the
# global random state (it is seeded from the operating system once, at import).
_jitterSource = random.Random()


def backoffPolicy(
    initialDelay: float = DEFAULT_INITIAL_DELAY,
    factor: float = DEFAULT_FACTOR,
    maxDelay: float = DEFAULT_MAX_DELAY,
    jitter: Callable[[], float] = _jitterSource.random,
) -> Callable[[int], float]:
    """
    A capped exponential backoff with full jitter.

    The delay for attempt C{n} is C{jitter() * min(maxDelay, initialDelay *
    factor ** n)}: anywhere from 0 up to a cap that grows from C{initialDelay}
    and stops at C{maxDelay}.  Attempt numbers of any size are fine: once the
    exponential overflows a float, the cap is C{maxDelay}.

    @param initialDelay: the cap for attempt 0, in seconds.
    @param factor: how much the cap grows per attempt; 1 or more.
    @param maxDelay: the largest cap, in seconds.
    @param jitter: a callable returning a float in [0, 1), such as
        C{random.Random(seed).random}; a result outside [0, 1] is clamped to it.
    @return: a callable that, given the attempt number (0 for the first retry),
        returns the delay in seconds, from 0 to C{maxDelay}.
    @raise ValueError: if C{initialDelay} or C{maxDelay} is negative or not
        finite, or C{factor} is below 1 or not finite.
    """
    for name, value in (("initialDelay", initialDelay), ("maxDelay", maxDelay)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number, 0 or more")
    if not (math.isfinite(factor) and factor >= 1):
        raise ValueError("factor must be a finite number, 1 or more")

    def policy(attempt: int) -> float:
        if attempt < 0:
            raise ValueError("attempt must be 0 or more")
        return _clamp(jitter()) * delayCap(attempt, initialDelay, factor, maxDelay)

    return policy


def delayCap(
    attempt: int, initialDelay: float, factor: float, maxDelay: float
) -> float:
    """
    The largest delay for an attempt, before jitter:
    C{min(maxDelay, initialDelay * factor ** attempt)}, computed without overflow.

    @param attempt: the attempt number, 0 or more, of any size.
    @param initialDelay: the cap for attempt 0.
    @param factor: growth per attempt, 1 or more.
    @param maxDelay: the largest cap.
    @return: the cap; never decreases as C{attempt} grows.
    """
    if initialDelay >= maxDelay:
        return maxDelay
    if initialDelay == 0 or factor == 1:
        return initialDelay
    try:
        grown = initialDelay * factor**attempt
    except OverflowError:
        # factor ** attempt is beyond a float (or attempt is beyond a float's
        # range): with factor > 1 and initialDelay > 0 that is far past maxDelay.
        return maxDelay
    return min(maxDelay, grown)


def _clamp(fraction: float) -> float:
    if not fraction >= 0.0:  # also NaN
        return 0.0
    return min(1.0, fraction)


@dataclass(frozen=True)
class Decision:
    """
    What to do with an event whose delivery attempt failed.

    @ivar retryAt: when to try again (seconds since the epoch), or C{None} to
        dead-letter it.
    @ivar delay: C{retryAt - now} for a retry; 0 for a dead letter.
    @ivar reason: for a dead letter, why (L{MAXIMUM_AGE_REACHED}); empty for a
        retry.
    """

    retryAt: Optional[float]
    delay: float = 0.0
    reason: str = ""

    @property
    def deadLetter(self) -> bool:
        """
        Whether to give up on the event and keep it as a dead letter.
        """
        return self.retryAt is None


@dataclass(frozen=True)
class RetryPolicy:
    """
    When to retry a failed delivery, and when to give up.

    @ivar backoff: an C{attempt -> delay} callable, such as L{backoffPolicy}'s;
        attempt 0 is the first retry.
    @ivar maxAge: seconds from when the event was queued after which it is not
        tried again but dead-lettered.
    @ivar retryAfterCap: the longest C{Retry-After} honoured, in seconds; a longer
        one is cut to it.
    """

    backoff: Callable[[int], float] = field(default_factory=backoffPolicy)
    maxAge: float = DEFAULT_MAX_AGE
    retryAfterCap: float = DEFAULT_RETRY_AFTER_CAP

    def __post_init__(self) -> None:
        if not self.maxAge > 0:
            raise ValueError("maxAge must be more than 0")
        if not self.retryAfterCap >= 0:
            raise ValueError("retryAfterCap must be 0 or more")

    def nextAttempt(
        self,
        attempts: int,
        queuedAt: float,
        now: float,
        retryAfter: Optional[float] = None,
    ) -> Decision:
        """
        Decide what follows a failed attempt.

        The next attempt is after the backoff delay for C{attempts - 1}, or after
        C{retryAfter} (capped at L{retryAfterCap}) if that is longer.  If the event
        would then be L{maxAge} old or older, it is dead-lettered now instead.

        @param attempts: failed attempts so far, this one included (1 or more).
        @param queuedAt: when the event was queued, in seconds since the epoch.
        @param now: the time of the failure.
        @param retryAfter: the recipient's C{Retry-After}, in seconds, if it gave
            one (HTTP 429 or 503); negative counts as 0, NaN as none.
        @return: the decision.
        @raise ValueError: if C{attempts} is below 1.
        """
        if attempts < 1:
            raise ValueError("attempts must be 1 or more")
        delay = max(0.0, self.backoff(attempts - 1))
        if retryAfter is not None and not math.isnan(retryAfter):
            delay = max(delay, min(max(retryAfter, 0.0), self.retryAfterCap))
        retryAt = now + delay
        if retryAt - queuedAt >= self.maxAge:
            return Decision(None, 0.0, MAXIMUM_AGE_REACHED)
        return Decision(retryAt, delay)
