"""
Retry timing: backoff with full jitter, Retry-After, maximum age.
"""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.retry import (
    DEFAULT_MAX_AGE,
    MAXIMUM_AGE_REACHED,
    Decision,
    RetryPolicy,
    backoffPolicy,
    delayCap,
)


def noJitter() -> float:
    """
    Jitter that always gives the whole cap.
    """
    return 1.0


def halfJitter() -> float:
    return 0.5


HUGE = st.one_of(
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=2000, max_value=10**9),
    st.integers(min_value=10**300, max_value=10**400),
)


class BackoffPolicyTests(SynchronousTestCase):
    """
    L{backoffPolicy}.
    """

    def test_firstRetryCappedAtInitialDelay(self) -> None:
        """
        Attempt 0 (the first retry) is capped at C{initialDelay}.
        """
        policy = backoffPolicy(initialDelay=1.5, jitter=noJitter)
        self.assertEqual(policy(0), 1.5)

    def test_capGrowsByFactor(self) -> None:
        """
        Each attempt multiplies the cap by C{factor}.
        """
        policy = backoffPolicy(initialDelay=1.0, factor=3.0, jitter=noJitter)
        self.assertEqual([policy(n) for n in range(4)], [1.0, 3.0, 9.0, 27.0])

    def test_capStopsAtMaxDelay(self) -> None:
        """
        The cap never goes past C{maxDelay}.
        """
        policy = backoffPolicy(jitter=noJitter)
        self.assertEqual(
            [policy(n) for n in range(7, 12)], [128.0, 256.0, 300.0, 300.0, 300.0]
        )

    def test_defaults(self) -> None:
        """
        The defaults are DESIGN.md's: 1 s first, times 2, cap 5 minutes.
        """
        policy = backoffPolicy(jitter=noJitter)
        self.assertEqual((policy(0), policy(1), policy(100)), (1.0, 2.0, 300.0))

    def test_fullJitter(self) -> None:
        """
        The delay is the jitter's fraction of the cap, down to 0.
        """
        self.assertEqual(backoffPolicy(jitter=halfJitter)(3), 4.0)
        self.assertEqual(backoffPolicy(jitter=lambda: 0.0)(3), 0.0)

    def test_jitterOutOfRangeClamped(self) -> None:
        """
        A jitter callable that strays outside [0, 1] cannot push the delay outside
        [0, cap].
        """
        self.assertEqual(backoffPolicy(jitter=lambda: 7.0)(0), 1.0)
        self.assertEqual(backoffPolicy(jitter=lambda: -1.0)(0), 0.0)
        self.assertEqual(backoffPolicy(jitter=lambda: math.nan)(0), 0.0)

    def test_hugeAttemptNumbers(self) -> None:
        """
        Attempt numbers too large for a float give C{maxDelay}, not an error.
        """
        policy = backoffPolicy(jitter=noJitter)
        for attempt in (1075, 10**6, 10**400):
            self.assertEqual(policy(attempt), 300.0)

    def test_slowGrowthReachesMaxDelay(self) -> None:
        """
        A factor just above 1 still reaches C{maxDelay} after enough attempts.
        """
        policy = backoffPolicy(factor=1.0000001, jitter=noJitter)
        self.assertEqual(policy(10**12), 300.0)
        self.assertEqual(policy(10**400), 300.0)

    def test_factorOneKeepsInitialDelay(self) -> None:
        """
        With factor 1 the cap stays at C{initialDelay}, however many attempts.
        """
        policy = backoffPolicy(initialDelay=2.0, factor=1.0, jitter=noJitter)
        self.assertEqual((policy(0), policy(10**400)), (2.0, 2.0))

    def test_zeroInitialDelay(self) -> None:
        """
        With C{initialDelay} 0 every delay is 0.
        """
        policy = backoffPolicy(initialDelay=0.0, jitter=noJitter)
        self.assertEqual((policy(5), policy(10**400)), (0.0, 0.0))

    def test_negativeAttemptRejected(self) -> None:
        self.assertRaises(ValueError, backoffPolicy(jitter=noJitter), -1)

    def test_badArgumentsRejected(self) -> None:
        """
        Negative or non-finite delays and factors below 1 are refused.
        """
        for kwargs in (
            {"initialDelay": -1.0},
            {"maxDelay": -1.0},
            {"maxDelay": math.inf},
            {"factor": 0.5},
            {"factor": math.nan},
        ):
            self.assertRaises(ValueError, backoffPolicy, **kwargs)

    def test_seededJitterRepeatable(self) -> None:
        """
        The same seeded jitter gives the same delays.
        """
        first = backoffPolicy(jitter=random.Random(42).random)
        second = backoffPolicy(jitter=random.Random(42).random)
        self.assertEqual([first(n) for n in range(20)], [second(n) for n in range(20)])

    def test_defaultJitterLeavesGlobalRandomAlone(self) -> None:
        """
        The default jitter neither reads nor advances the global C{random} state.
        """
        random.seed(1234)
        state = random.getstate()
        policy = backoffPolicy()
        for attempt in range(10):
            self.assertTrue(0.0 <= policy(attempt) <= 300.0)
        self.assertEqual(random.getstate(), state)

    @given(
        attempt=HUGE,
        initialDelay=st.floats(min_value=0, max_value=1e6),
        factor=st.floats(min_value=1, max_value=100),
        maxDelay=st.floats(min_value=0, max_value=1e6),
        seed=st.integers(),
    )
    def test_delayWithinBounds(
        self,
        attempt: int,
        initialDelay: float,
        factor: float,
        maxDelay: float,
        seed: int,
    ) -> None:
        """
        Every delay is in [0, maxDelay], whatever the attempt number.
        """
        policy = backoffPolicy(
            initialDelay, factor, maxDelay, jitter=random.Random(seed).random
        )
        delay = policy(attempt)
        self.assertTrue(0.0 <= delay <= maxDelay, delay)

    @given(
        attempts=st.tuples(HUGE, HUGE),
        initialDelay=st.floats(min_value=0, max_value=1e6),
        factor=st.floats(min_value=1, max_value=100),
        maxDelay=st.floats(min_value=0, max_value=1e6),
    )
    def test_capNeverDecreases(
        self,
        attempts: tuple[int, int],
        initialDelay: float,
        factor: float,
        maxDelay: float,
    ) -> None:
        """
        A later attempt never has a smaller cap.
        """
        low, high = sorted(attempts)
        self.assertLessEqual(
            delayCap(low, initialDelay, factor, maxDelay),
            delayCap(high, initialDelay, factor, maxDelay),
        )
        policy = backoffPolicy(initialDelay, factor, maxDelay, jitter=noJitter)
        self.assertLessEqual(policy(low), policy(high))


class RetryPolicyTests(SynchronousTestCase):
    """
    L{RetryPolicy.nextAttempt}.
    """

    def policy(self, **kwargs: object) -> RetryPolicy:
        return RetryPolicy(backoff=backoffPolicy(jitter=noJitter), **kwargs)  # type: ignore[arg-type]

    def test_firstFailureRetriesAfterInitialDelay(self) -> None:
        """
        After the first failed attempt, the retry is at most C{initialDelay} away.
        """
        decision = self.policy().nextAttempt(1, queuedAt=1000.0, now=1000.0)
        self.assertEqual(decision, Decision(1001.0, 1.0))
        self.assertFalse(decision.deadLetter)

    def test_laterFailuresBackOff(self) -> None:
        """
        The backoff attempt number is the failed attempts minus one.
        """
        decision = self.policy().nextAttempt(4, queuedAt=1000.0, now=1100.0)
        self.assertEqual((decision.retryAt, decision.delay), (1108.0, 8.0))

    def test_retryAfterHonouredWhenLonger(self) -> None:
        """
        A C{Retry-After} longer than the backoff sets the delay.
        """
        decision = self.policy().nextAttempt(1, 0.0, 10.0, retryAfter=120.0)
        self.assertEqual((decision.retryAt, decision.delay), (130.0, 120.0))

    def test_retryAfterShorterThanBackoff(self) -> None:
        """
        A C{Retry-After} shorter than the backoff does not shorten it.
        """
        decision = self.policy().nextAttempt(9, 0.0, 10.0, retryAfter=5.0)
        self.assertEqual(decision.delay, 256.0)

    def test_retryAfterCapped(self) -> None:
        """
        C{Retry-After} is honoured only up to C{retryAfterCap}.
        """
        decision = self.policy().nextAttempt(1, 0.0, 10.0, retryAfter=10**9)
        self.assertEqual(decision.delay, 3600.0)
        decision = self.policy(retryAfterCap=60.0).nextAttempt(
            1, 0.0, 10.0, retryAfter=math.inf
        )
        self.assertEqual(decision.delay, 60.0)

    def test_oddRetryAfterIgnored(self) -> None:
        """
        A negative C{Retry-After} counts as 0 and NaN as none.
        """
        policy = self.policy()
        self.assertEqual(policy.nextAttempt(1, 0.0, 0.0, retryAfter=-50.0).delay, 1.0)
        self.assertEqual(
            policy.nextAttempt(1, 0.0, 0.0, retryAfter=math.nan).delay, 1.0
        )

    def test_maximumAgeDeadLetters(self) -> None:
        """
        An event that would be C{maxAge} old at its next attempt is dead-lettered.
        """
        decision = self.policy().nextAttempt(
            20, queuedAt=0.0, now=DEFAULT_MAX_AGE - 300
        )
        self.assertTrue(decision.deadLetter)
        self.assertIsNone(decision.retryAt)
        self.assertEqual(decision.reason, MAXIMUM_AGE_REACHED)
        self.assertEqual(decision.reason, "maximum age reached")

    def test_justUnderMaximumAgeRetries(self) -> None:
        """
        One that would still be younger than C{maxAge} is retried.
        """
        decision = self.policy().nextAttempt(
            20, queuedAt=0.0, now=DEFAULT_MAX_AGE - 300.5
        )
        self.assertEqual(decision.retryAt, DEFAULT_MAX_AGE - 0.5)

    def test_retryAfterPastMaximumAgeDeadLetters(self) -> None:
        """
        A C{Retry-After} that would take the event past C{maxAge} dead-letters it.
        """
        policy = self.policy(maxAge=600.0)
        self.assertTrue(policy.nextAttempt(1, 0.0, 10.0, retryAfter=590.0).deadLetter)
        self.assertFalse(policy.nextAttempt(1, 0.0, 10.0, retryAfter=589.0).deadLetter)

    def test_zeroAttemptsRejected(self) -> None:
        self.assertRaises(ValueError, self.policy().nextAttempt, 0, 0.0, 0.0)

    def test_badPolicyRejected(self) -> None:
        self.assertRaises(ValueError, RetryPolicy, maxAge=0.0)
        self.assertRaises(ValueError, RetryPolicy, retryAfterCap=-1.0)

    def test_defaultPolicy(self) -> None:
        """
        The default policy backs off within 5 minutes and gives up after a day.
        """
        policy = RetryPolicy()
        self.assertEqual((policy.maxAge, policy.retryAfterCap), (86400.0, 3600.0))
        decision = policy.nextAttempt(50, 0.0, 100.0)
        assert decision.retryAt is not None
        self.assertTrue(100.0 <= decision.retryAt <= 400.0)

    def test_seededDecisionsRepeatable(self) -> None:
        """
        Decisions depend only on the arguments and the injected jitter.
        """

        def decisions(seed: int) -> list[Decision]:
            policy = RetryPolicy(
                backoff=backoffPolicy(jitter=random.Random(seed).random)
            )
            return [policy.nextAttempt(n, 0.0, 60.0 * n) for n in range(1, 30)]

        self.assertEqual(decisions(7), decisions(7))

    @given(
        attempts=st.integers(min_value=1, max_value=10**6),
        queuedAt=st.floats(min_value=0, max_value=2e9),
        age=st.floats(min_value=0, max_value=2 * DEFAULT_MAX_AGE),
        retryAfter=st.one_of(st.none(), st.floats(min_value=-10, max_value=1e7)),
        seed=st.integers(),
    )
    def test_decisionBounds(
        self,
        attempts: int,
        queuedAt: float,
        age: float,
        retryAfter: float | None,
        seed: int,
    ) -> None:
        """
        A retry is due within the larger of the delay cap and the capped
        C{Retry-After}, and before C{maxAge}; anything else is a dead letter.
        """
        policy = RetryPolicy(backoff=backoffPolicy(jitter=random.Random(seed).random))
        now = queuedAt + age
        decision = policy.nextAttempt(attempts, queuedAt, now, retryAfter)
        if decision.deadLetter:
            self.assertEqual(decision.reason, MAXIMUM_AGE_REACHED)
            return
        assert decision.retryAt is not None
        self.assertTrue(0.0 <= decision.delay <= 3600.0)
        if retryAfter is not None:
            self.assertGreaterEqual(decision.delay, min(max(retryAfter, 0.0), 3600.0))
        else:
            self.assertLessEqual(decision.delay, 300.0)
        self.assertLess(decision.retryAt - queuedAt, policy.maxAge)
