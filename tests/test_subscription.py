"""
Subscriptions: event matching, template validation, leases, the progress throttle
and the attribute groups of the RFC 3995 operations.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from ipp_ntfy.ipp import (
    Attribute,
    Group,
    GroupTag,
    Message,
    OutOfBand,
    ValueTag,
    decode,
    encode,
)
from ipp_ntfy.subscription import (
    ALL_EVENTS,
    JOB_EVENTS,
    MAX_LEASE,
    NO_SUBSCRIPTIONS,
    PRINTER_EVENTS,
    SERVER_EVENTS,
    STATUS_PRECEDENCE,
    Subscription,
    SubscriptionCounts,
    SubscriptionError,
    SubscriptionPolicy,
    TemplateError,
    TemplateResult,
    covers,
    describe,
    endsAfter,
    expandRequested,
    expired,
    grantLease,
    isJobEvent,
    leaseExpiry,
    matches,
    overallStatus,
    renew,
    responseGroup,
    shouldSendProgress,
    subEvents,
    upTime,
    validateTemplate,
)

from .vectors import vector

PRINTER = "ipp://localhost/printers/p1"
NOW = 1_700_000_000.0
UNSUPPORTED = OutOfBand(ValueTag.UNSUPPORTED)


def template(*attributes: Attribute) -> Group:
    return Group(GroupTag.SUBSCRIPTION, attributes)


def pullTemplate(*extra: Attribute) -> Group:
    return template(Attribute.keyword("notify-pull-method", "ippget"), *extra)


def pushTemplate(
    *extra: Attribute, uri: str = "https://app.example/ipp-events"
) -> Group:
    return template(Attribute.uri("notify-recipient-uri", uri), *extra)


def events(*keywords: str) -> Attribute:
    return Attribute.keyword("notify-events", *keywords)


def lease(seconds: int) -> Attribute:
    return Attribute.integer("notify-lease-duration", seconds)


def validate(
    group: Group,
    policy: Optional[SubscriptionPolicy] = None,
    *,
    jobId: Optional[int] = None,
    counts: SubscriptionCounts = NO_SUBSCRIPTIONS,
) -> TemplateResult:
    return validateTemplate(
        group,
        policy or SubscriptionPolicy(),
        printerUri=PRINTER,
        jobId=jobId,
        userName="alice",
        charset="utf-8",
        language="en-us",
        now=NOW,
        counts=counts,
    )


def created(result: TemplateResult) -> Subscription:
    """
    @return: the subscription of a result that must have one.
    """
    assert result.subscription is not None, result
    return result.subscription


def perPrinter(*keywords: str) -> Subscription:
    return Subscription(1, PRINTER, keywords, pullMethod="ippget")


def perJob(jobId: int, *keywords: str) -> Subscription:
    return Subscription(
        2, PRINTER, keywords, pullMethod="ippget", jobId=jobId, leaseDuration=None
    )


# Written out by hand from RFC 3995 section 5.3.3.4 and CUPS's
# scheduler/subscriptions.h (fact sheet 6.3), independently of EVENT_CHILDREN.
_PRINTER_STATE = {
    "printer-state-changed",
    "printer-restarted",
    "printer-shutdown",
    "printer-stopped",
}
_PRINTER_CONFIG = {
    "printer-config-changed",
    "printer-media-changed",
    "printer-finishings-changed",
}
_JOB_STATE = {"job-state-changed", "job-created", "job-completed", "job-stopped"}
_PRINTER_ALL = (
    _PRINTER_STATE
    | _PRINTER_CONFIG
    | {
        "printer-queue-order-changed",
        "printer-added",
        "printer-deleted",
        "printer-modified",
        "printer-changed",
    }
)
_EVERYTHING = (
    _PRINTER_ALL
    | _JOB_STATE
    | {"job-config-changed", "job-progress"}
    | {"server-restarted", "server-started", "server-stopped", "server-audit"}
    | {"all"}
)
EXPECTED_COVERAGE: Dict[str, FrozenSet[str]] = {
    keyword: frozenset({keyword}) for keyword in _EVERYTHING
}
EXPECTED_COVERAGE.update(
    {
        "printer-state-changed": frozenset(_PRINTER_STATE),
        "printer-config-changed": frozenset(_PRINTER_CONFIG),
        "printer-changed": frozenset(_PRINTER_ALL),
        "job-state-changed": frozenset(_JOB_STATE),
        "all": frozenset(_EVERYTHING),
    }
)


class EventHierarchyTests(SynchronousTestCase):
    """
    The event keyword tree and L{matches}.
    """

    def test_keywordSets(self) -> None:
        """
        The module knows exactly the RFC 3995 and CUPS keywords.
        """
        self.assertEqual(ALL_EVENTS, frozenset(_EVERYTHING))
        self.assertEqual(
            JOB_EVENTS | PRINTER_EVENTS | SERVER_EVENTS | {"all"}, ALL_EVENTS
        )
        self.assertEqual(PRINTER_EVENTS, frozenset(_PRINTER_ALL))

    def test_subEventsOfEveryKeyword(self) -> None:
        """
        Each keyword covers itself and exactly the keywords under it.
        """
        for keyword, expected in EXPECTED_COVERAGE.items():
            self.assertEqual(subEvents(keyword), expected, keyword)

    def test_matchOverWholeTree(self) -> None:
        """
        For every subscribed keyword and every event, a per-printer subscription
        gets the event iff the keyword covers it, and the subscribed keyword comes
        back, except for CUPS's umbrellas, which give the event itself.
        """
        for subscribed, coverage in EXPECTED_COVERAGE.items():
            subscription = perPrinter(subscribed)
            for event in sorted(_EVERYTHING):
                jobId = 5 if isJobEvent(event) else None
                if event not in coverage:
                    expected = None
                elif subscribed in ("all", "printer-changed"):
                    expected = event
                else:
                    expected = subscribed
                self.assertEqual(
                    matches(subscription, event, jobId), expected, (subscribed, event)
                )
                self.assertEqual(covers(subscribed, event), event in coverage)

    def test_mostSpecificSubscribedKeyword(self) -> None:
        """
        When several subscribed keywords cover an event, the narrowest one is
        C{notify-subscribed-event}, whatever their order.
        """
        table = [
            (("job-state-changed", "job-completed"), "job-completed", "job-completed"),
            (("job-completed", "job-state-changed"), "job-completed", "job-completed"),
            (("job-state-changed", "job-progress"), "job-created", "job-state-changed"),
            (
                ("printer-changed", "printer-state-changed"),
                "printer-stopped",
                "printer-state-changed",
            ),
            (
                ("all", "printer-config-changed"),
                "printer-media-changed",
                "printer-config-changed",
            ),
            (("all", "printer-config-changed"), "job-progress", "job-progress"),
            (("printer-stopped", "job-completed"), "printer-restarted", None),
        ]
        for keywords, event, expected in table:
            self.assertEqual(
                matches(perPrinter(*keywords), event, 3), expected, (keywords, event)
            )

    def test_jobEventGoesToPerPrinterSubscription(self) -> None:
        self.assertEqual(
            matches(perPrinter("job-completed"), "job-completed", 17), "job-completed"
        )

    def test_jobEventGoesToItsOwnPerJobSubscription(self) -> None:
        self.assertEqual(
            matches(perJob(17, "job-completed"), "job-completed", 17), "job-completed"
        )

    def test_jobEventSkipsOtherJobsSubscription(self) -> None:
        """
        A per-job subscription does not get another job's events.
        """
        self.assertIsNone(matches(perJob(17, "job-completed"), "job-completed", 18))
        self.assertIsNone(matches(perJob(17, "all"), "job-progress", 18))

    def test_jobEventWithoutJobSkipsPerJobSubscription(self) -> None:
        self.assertIsNone(matches(perJob(17, "job-completed"), "job-completed"))

    def test_printerEventGoesToPerJobSubscription(self) -> None:
        """
        Printer events go to per-job subscriptions too (RFC 3995 5.3.3.5).
        """
        subscription = perJob(17, "printer-state-changed")
        self.assertEqual(
            matches(subscription, "printer-stopped"), "printer-state-changed"
        )
        self.assertEqual(
            matches(subscription, "printer-stopped", 99), "printer-state-changed"
        )

    def test_serverEventGoesToAllSubscriptions(self) -> None:
        self.assertEqual(
            matches(perJob(3, "all"), "server-restarted"), "server-restarted"
        )
        self.assertEqual(
            matches(perPrinter("server-audit"), "server-audit"), "server-audit"
        )

    def test_noneNeverMatches(self) -> None:
        self.assertIsNone(matches(perPrinter("none"), "printer-stopped"))
        self.assertIsNone(matches(perPrinter("all"), "none"))
        self.assertEqual(subEvents("none"), frozenset())

    def test_unknownEventOnlyExactOrAll(self) -> None:
        """
        An event this module does not know matches only a subscription to that
        very keyword, or to C{all}.
        """
        self.assertEqual(
            matches(perPrinter("printer-exploded"), "printer-exploded"),
            "printer-exploded",
        )
        self.assertEqual(
            matches(perPrinter("all"), "printer-exploded"), "printer-exploded"
        )
        self.assertIsNone(matches(perPrinter("printer-changed"), "printer-exploded"))

    def test_unknownJobEventIsAJobEvent(self) -> None:
        """
        A C{job-*} keyword this module does not know is still a job event.
        """
        self.assertTrue(isJobEvent("job-fetchable"))
        self.assertIsNone(matches(perJob(1, "all"), "job-fetchable", 2))
        self.assertFalse(isJobEvent("printer-stopped"))


class PolicyTests(SynchronousTestCase):
    """
    L{SubscriptionPolicy}.
    """

    def test_defaults(self) -> None:
        policy = SubscriptionPolicy()
        self.assertEqual(
            policy.schemesSupported, ("http", "https", "ipp", "ipps", "indp")
        )
        self.assertEqual(policy.pullMethodsSupported, ("ippget",))
        self.assertEqual(policy.eventsDefault, ("job-completed",))
        self.assertEqual((policy.leaseDefault, policy.leaseMaximum), (86400, MAX_LEASE))
        self.assertEqual((policy.maxEvents, policy.maxUserData), (30, 63))
        self.assertTrue(policy.allowForeverLease)

    def test_schemesLowerCased(self) -> None:
        self.assertEqual(
            SubscriptionPolicy(schemesSupported=("HTTPS",)).schemesSupported, ("https",)
        )

    def test_leaseDefaultCutToMaximum(self) -> None:
        """
        The default lease obeys the same rules as a requested one.
        """
        self.assertEqual(SubscriptionPolicy(leaseMaximum=3600).leaseDefault, 3600)
        policy = SubscriptionPolicy(
            leaseDefault=0, allowForeverLease=False, leaseMaximum=7200
        )
        self.assertEqual(policy.leaseDefault, 7200)
        self.assertEqual(SubscriptionPolicy(leaseDefault=0).leaseDefault, 0)

    def test_inconsistentPolicyRejected(self) -> None:
        for kwargs in (
            {"leaseMaximum": 0},
            {"leaseMaximum": MAX_LEASE + 1},
            {"leaseDefault": -1},
            {"maxEvents": 1},
            {"maxUserData": 64},
            {"maxSubscriptions": -1},
        ):
            self.assertRaises(ValueError, SubscriptionPolicy, **kwargs)


class TemplateValidationTests(SynchronousTestCase):
    """
    L{validateTemplate}.
    """

    def test_pullSubscriptionCreated(self) -> None:
        """
        A pull template with nothing but the method gets every default.
        """
        result = validate(pullTemplate())
        subscription = created(result)
        self.assertEqual(
            subscription,
            Subscription(
                subscriptionId=0,
                printerUri=PRINTER,
                events=("job-completed",),
                pullMethod="ippget",
                charset="utf-8",
                naturalLanguage="en-us",
                leaseDuration=86400,
                leaseExpiresAt=NOW + 86400,
                subscriberUserName="alice",
                createdAt=NOW,
            ),
        )
        self.assertEqual((result.statusCode, result.unsupported), (None, ()))
        self.assertEqual(result.grantedLease, 86400)

    def test_pushSubscriptionCreated(self) -> None:
        result = validate(
            pushTemplate(
                events("printer-stopped", "job-completed"),
                Attribute.octetString("notify-user-data", b"ref-1"),
                Attribute.charset("notify-charset", "us-ascii"),
                Attribute.naturalLanguage("notify-natural-language", "de"),
                lease(600),
                Attribute.integer("notify-time-interval", 10),
            )
        )
        subscription = created(result)
        self.assertEqual(subscription.recipientUri, "https://app.example/ipp-events")
        self.assertIsNone(subscription.pullMethod)
        self.assertEqual(subscription.events, ("printer-stopped", "job-completed"))
        self.assertEqual(subscription.userData, b"ref-1")
        self.assertEqual(subscription.charset, "us-ascii")
        self.assertEqual(subscription.naturalLanguage, "de")
        self.assertEqual(subscription.leaseDuration, 600)
        self.assertEqual(subscription.leaseExpiresAt, NOW + 600)
        self.assertEqual(subscription.timeInterval, 10)
        self.assertIsNone(result.statusCode)

    def test_recipientAndPullMethodIsBadRequest(self) -> None:
        """
        Both C{notify-recipient-uri} and C{notify-pull-method}: the whole operation
        fails with client-error-bad-request.
        """
        group = pushTemplate(Attribute.keyword("notify-pull-method", "ippget"))
        error = self.assertRaises(TemplateError, validate, group)
        self.assertEqual(error.statusCode, 0x0400)
        self.assertIsInstance(error, SubscriptionError)
        self.assertIn("both", str(error))

    def test_neitherRecipientNorPullMethodIsBadRequest(self) -> None:
        error = self.assertRaises(
            TemplateError, validate, template(events("job-completed"))
        )
        self.assertEqual(error.statusCode, 0x0400)

    def test_wrongGroupRejected(self) -> None:
        group = Group(
            GroupTag.OPERATION, [Attribute.keyword("notify-pull-method", "ippget")]
        )
        self.assertRaises(ValueError, validate, group)

    def test_unknownSchemeNotCreated(self) -> None:
        """
        An unsupported push scheme: nothing created, 0x040C, the URI echoed.
        """
        uri = "mailto:ops@example.com"
        result = validate(pushTemplate(uri=uri))
        self.assertIsNone(result.subscription)
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x040C)
        self.assertEqual(
            result.unsupported, (Attribute.uri("notify-recipient-uri", uri),)
        )
        self.assertIsNone(result.grantedLease)

    def test_schemeComparedCaseInsensitively(self) -> None:
        self.assertTrue(validate(pushTemplate(uri="HTTPS://app.example/x")).created)

    def test_malformedRecipientNotCreated(self) -> None:
        """
        A recipient that is no absolute URI, or not a C{uri} value, or too long:
        nothing created, 0x040B.
        """
        for attribute in (
            Attribute.uri("notify-recipient-uri", "no-scheme-here"),
            Attribute.uri("notify-recipient-uri", "http:"),
            Attribute.uri("notify-recipient-uri", "1http://x/"),
            Attribute.text("notify-recipient-uri", "http://x/"),
            Attribute.uri("notify-recipient-uri", "http://a/", "http://b/"),
            Attribute.uri("notify-recipient-uri", "http://x/" + "a" * 1015),
        ):
            result = validate(template(attribute))
            self.assertFalse(result.created, attribute)
            self.assertEqual(result.statusCode, 0x040B)
            self.assertEqual(result.unsupported, (attribute,))

    def test_longestRecipientAccepted(self) -> None:
        uri = "http://x/" + "a" * 1014
        self.assertEqual(len(uri), 1023)
        self.assertTrue(validate(pushTemplate(uri=uri)).created)

    def test_unknownPullMethodNotCreated(self) -> None:
        """
        An unsupported pull method: nothing created, 0x040B, the method echoed.
        """
        attribute = Attribute.keyword("notify-pull-method", "carrier-pigeon")
        result = validate(template(attribute))
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x040B)
        self.assertEqual(result.unsupported, (attribute,))

    def test_missingEventsGetDefault(self) -> None:
        policy = SubscriptionPolicy(eventsDefault=("printer-stopped", "job-completed"))
        self.assertEqual(
            created(validate(pullTemplate(), policy)).events,
            ("printer-stopped", "job-completed"),
        )

    def test_unknownEventsEchoed(self) -> None:
        """
        Unsupported events are dropped and echoed with their values; the
        subscription is created with the rest, status 0x0001.
        """
        result = validate(
            pullTemplate(events("job-completed", "job-exploded", "printer-stopped"))
        )
        self.assertEqual(created(result).events, ("job-completed", "printer-stopped"))
        self.assertEqual(result.statusCode, 0x0001)
        self.assertEqual(result.unsupported, (events("job-exploded"),))

    def test_eventsOfWrongSyntaxEchoed(self) -> None:
        """
        A C{notify-events} value that is not a keyword is unsupported, echoed with
        its own tag.
        """
        attribute = Attribute(
            "notify-events",
            ("job-completed", "job-created"),
            (ValueTag.KEYWORD, ValueTag.NAME),
        )
        result = validate(pullTemplate(attribute))
        self.assertEqual(created(result).events, ("job-completed",))
        self.assertEqual(
            result.unsupported,
            (Attribute("notify-events", ("job-created",), (ValueTag.NAME,)),),
        )

    def test_eventsNotInPolicyEchoed(self) -> None:
        policy = SubscriptionPolicy(eventsSupported=frozenset({"job-completed"}))
        result = validate(pullTemplate(events("job-completed", "all")), policy)
        self.assertEqual(created(result).events, ("job-completed",))
        self.assertEqual(result.unsupported, (events("all"),))

    def test_duplicateEventsCollapsed(self) -> None:
        result = validate(pullTemplate(events("job-completed", "job-completed")))
        self.assertEqual(created(result).events, ("job-completed",))
        self.assertIsNone(result.statusCode)

    def test_noneAloneNotCreated(self) -> None:
        """
        C{notify-events} of just C{none} creates nothing (RFC 3995 5.3.3.4).
        """
        result = validate(pullTemplate(events("none")))
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x040B)

    def test_noneWithOthersUnsupported(self) -> None:
        result = validate(pullTemplate(events("none", "job-completed")))
        self.assertEqual(created(result).events, ("job-completed",))
        self.assertEqual(result.unsupported, (events("none"),))
        self.assertEqual(result.statusCode, 0x0001)

    def test_noSupportedEventNotCreated(self) -> None:
        """
        When none of the events asked for is supported, nothing is created
        (rather than falling back to the default events).
        """
        result = validate(pullTemplate(events("job-exploded", "printer-melted")))
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x040B)
        self.assertEqual(
            result.unsupported, (events("job-exploded", "printer-melted"),)
        )

    def test_tooManyEventsDropped(self) -> None:
        """
        Events beyond C{maxEvents} are dropped and echoed; the subscription is
        created with status 0x0005.
        """
        policy = SubscriptionPolicy(maxEvents=2)
        result = validate(
            pullTemplate(
                events("job-created", "job-completed", "job-stopped", "job-progress")
            ),
            policy,
        )
        self.assertEqual(created(result).events, ("job-created", "job-completed"))
        self.assertEqual(result.statusCode, 0x0005)
        self.assertEqual(result.unsupported, (events("job-stopped", "job-progress"),))

    def test_tooManyEventsOutranksUnsupported(self) -> None:
        """
        0x0005 comes before 0x0001 when both apply; unknown values and dropped
        ones share the one echoed C{notify-events}.
        """
        policy = SubscriptionPolicy(maxEvents=2)
        result = validate(
            pullTemplate(
                events("job-created", "bogus", "job-completed", "job-stopped"),
                Attribute.keyword("x-vendor", "y"),
            ),
            policy,
        )
        self.assertEqual(result.statusCode, 0x0005)
        self.assertEqual(
            result.unsupported,
            (
                events("bogus", "job-stopped"),
                Attribute.of("x-vendor", ValueTag.UNSUPPORTED, UNSUPPORTED),
            ),
        )

    def test_maximumEventsAccepted(self) -> None:
        keywords = sorted(ALL_EVENTS)[:30]
        result = validate(pullTemplate(events(*keywords)))
        self.assertEqual(created(result).events, tuple(keywords))
        self.assertIsNone(result.statusCode)

    def test_userDataOf63OctetsKept(self) -> None:
        data = b"u" * 63
        result = validate(pullTemplate(Attribute.octetString("notify-user-data", data)))
        self.assertEqual(created(result).userData, data)
        self.assertIsNone(result.statusCode)

    def test_userDataTooLongUnsupported(self) -> None:
        """
        User data over 63 octets is echoed; the subscription is created without.
        """
        attribute = Attribute.octetString("notify-user-data", b"u" * 64)
        result = validate(pullTemplate(attribute))
        self.assertEqual(created(result).userData, b"")
        self.assertEqual(result.statusCode, 0x0001)
        self.assertEqual(result.unsupported, (attribute,))

    def test_userDataOfWrongSyntaxUnsupported(self) -> None:
        attribute = Attribute.text("notify-user-data", "hello")
        result = validate(pullTemplate(attribute))
        self.assertEqual(result.unsupported, (attribute,))

    def test_charsetAndLanguageDefaultFromRequest(self) -> None:
        subscription = created(validate(pullTemplate()))
        self.assertEqual(
            (subscription.charset, subscription.naturalLanguage), ("utf-8", "en-us")
        )

    def test_unsupportedCharsetEchoed(self) -> None:
        attribute = Attribute.charset("notify-charset", "iso-8859-1")
        result = validate(pullTemplate(attribute))
        self.assertEqual(created(result).charset, "utf-8")
        self.assertEqual(result.unsupported, (attribute,))
        self.assertEqual(result.statusCode, 0x0001)

    def test_badLanguageEchoed(self) -> None:
        attribute = Attribute.keyword("notify-natural-language", "fr")
        result = validate(pullTemplate(attribute))
        self.assertEqual(created(result).naturalLanguage, "en-us")
        self.assertEqual(result.unsupported, (attribute,))

    def test_leaseWithinMaximumGranted(self) -> None:
        result = validate(
            pullTemplate(lease(3600)), SubscriptionPolicy(leaseMaximum=7200)
        )
        self.assertEqual(result.grantedLease, 3600)
        self.assertIsNone(result.statusCode)

    def test_leaseClampedToMaximum(self) -> None:
        """
        A longer lease than allowed is cut to the maximum: substituted, 0x0001.
        """
        result = validate(
            pullTemplate(lease(90000)), SubscriptionPolicy(leaseMaximum=7200)
        )
        self.assertEqual(result.grantedLease, 7200)
        self.assertEqual(created(result).leaseExpiresAt, NOW + 7200)
        self.assertEqual(result.statusCode, 0x0001)
        self.assertEqual(result.unsupported, ())

    def test_leaseBeyondRfcLimitClamped(self) -> None:
        result = validate(pullTemplate(lease(MAX_LEASE + 1)))
        self.assertEqual(result.grantedLease, MAX_LEASE)
        self.assertEqual(result.statusCode, 0x0001)

    def test_foreverLeaseGranted(self) -> None:
        """
        Lease 0 means for ever, when the policy allows it: no expiry.
        """
        result = validate(pullTemplate(lease(0)))
        self.assertEqual(result.grantedLease, 0)
        self.assertEqual(created(result).leaseDuration, 0)
        self.assertIsNone(created(result).leaseExpiresAt)
        self.assertIsNone(result.statusCode)

    def test_foreverLeaseNotAllowedClamped(self) -> None:
        policy = SubscriptionPolicy(allowForeverLease=False, leaseMaximum=86400)
        result = validate(pullTemplate(lease(0)), policy)
        self.assertEqual(result.grantedLease, 86400)
        self.assertEqual(created(result).leaseExpiresAt, NOW + 86400)
        self.assertEqual(result.statusCode, 0x0001)

    def test_badLeaseValueSubstituted(self) -> None:
        """
        A negative or mistyped lease gets the default lease, status 0x0001; it is
        not echoed, since the group carries the granted value.
        """
        for attribute in (
            lease(-5),
            Attribute.keyword("notify-lease-duration", "long"),
            Attribute.integer("notify-lease-duration", 60, 120),
        ):
            result = validate(pullTemplate(attribute))
            self.assertEqual(result.grantedLease, 86400, attribute)
            self.assertEqual(result.statusCode, 0x0001)
            self.assertEqual(result.unsupported, ())

    def test_perJobSubscriptionCreated(self) -> None:
        result = validate(pullTemplate(events("job-completed")), jobId=42)
        subscription = created(result)
        self.assertEqual(subscription.jobId, 42)
        self.assertTrue(subscription.isPerJob)
        self.assertIsNone(subscription.leaseDuration)
        self.assertIsNone(subscription.leaseExpiresAt)
        self.assertIsNone(result.grantedLease)
        self.assertIsNone(result.statusCode)

    def test_perJobLeaseUnsupported(self) -> None:
        """
        A per-job template must not carry C{notify-lease-duration}: it comes back
        as C{unsupported}, and the subscription has no lease.
        """
        result = validate(pullTemplate(lease(3600)), jobId=42)
        subscription = created(result)
        self.assertIsNone(subscription.leaseDuration)
        self.assertIsNone(subscription.leaseExpiresAt)
        self.assertEqual(
            result.unsupported,
            (Attribute.of("notify-lease-duration", ValueTag.UNSUPPORTED, UNSUPPORTED),),
        )
        self.assertEqual(result.statusCode, 0x0001)

    def test_notifyJobIdOfSameJobAccepted(self) -> None:
        """
        ipptool puts C{notify-job-id} in the template group; naming the request's
        job, it is accepted silently.
        """
        result = validate(
            pullTemplate(Attribute.integer("notify-job-id", 42)), jobId=42
        )
        self.assertIsNone(result.statusCode)

    def test_notifyJobIdElsewhereUnsupported(self) -> None:
        attribute = Attribute.integer("notify-job-id", 42)
        for jobId in (None, 43):
            result = validate(pullTemplate(attribute), jobId=jobId)
            self.assertEqual(
                result.unsupported,
                (Attribute.of("notify-job-id", ValueTag.UNSUPPORTED, UNSUPPORTED),),
            )

    def test_timeIntervalKept(self) -> None:
        subscription = created(
            validate(pullTemplate(Attribute.integer("notify-time-interval", 30)))
        )
        self.assertEqual(subscription.timeInterval, 30)

    def test_badTimeIntervalUnsupported(self) -> None:
        attribute = Attribute.integer("notify-time-interval", -1)
        result = validate(pullTemplate(attribute))
        self.assertEqual(created(result).timeInterval, 0)
        self.assertEqual(result.unsupported, (attribute,))

    def test_timeIntervalWithoutJobProgressUnsupported(self) -> None:
        """
        C{notify-time-interval} is supported only with C{job-progress}.
        """
        policy = SubscriptionPolicy(eventsSupported=frozenset({"job-completed"}))
        attribute = Attribute.integer("notify-time-interval", 5)
        result = validate(pullTemplate(attribute), policy)
        self.assertEqual(result.unsupported, (attribute,))

    def test_notifyAttributesUnsupported(self) -> None:
        result = validate(
            pullTemplate(Attribute.keyword("notify-attributes", "job-name"))
        )
        self.assertEqual(
            result.unsupported,
            (Attribute.of("notify-attributes", ValueTag.UNSUPPORTED, UNSUPPORTED),),
        )

    def test_notifyAttributesNoneAccepted(self) -> None:
        result = validate(pullTemplate(Attribute.keyword("notify-attributes", "none")))
        self.assertIsNone(result.statusCode)

    def test_unknownAttributeOutOfBand(self) -> None:
        """
        Unknown attributes, and description attributes a client must not send,
        come back with the out-of-band value C{unsupported}, in request order.
        """
        result = validate(
            pullTemplate(
                Attribute.keyword("x-colour", "blue"),
                events("job-completed"),
                Attribute.integer("notify-subscription-id", 5),
            )
        )
        self.assertTrue(result.created)
        self.assertEqual(result.statusCode, 0x0001)
        self.assertEqual(
            result.unsupported,
            (
                Attribute.of("x-colour", ValueTag.UNSUPPORTED, UNSUPPORTED),
                Attribute.of(
                    "notify-subscription-id", ValueTag.UNSUPPORTED, UNSUPPORTED
                ),
            ),
        )

    def test_unsupportedInRequestOrder(self) -> None:
        result = validate(
            pullTemplate(
                Attribute.octetString("notify-user-data", b"x" * 64),
                Attribute.keyword("x-a", "a"),
                events("job-completed", "bogus"),
            )
        )
        self.assertEqual(
            [attribute.name for attribute in result.unsupported],
            ["notify-user-data", "x-a", "notify-events"],
        )

    def test_totalLimitNotCreated(self) -> None:
        """
        No room for another subscription: nothing created, 0x0415.
        """
        policy = SubscriptionPolicy(maxSubscriptions=10)
        result = validate(pullTemplate(), policy, counts=SubscriptionCounts(total=10))
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x0415)
        self.assertTrue(
            validate(pullTemplate(), policy, counts=SubscriptionCounts(total=9)).created
        )

    def test_perPrinterLimitNotCreated(self) -> None:
        policy = SubscriptionPolicy(maxSubscriptionsPerPrinter=2)
        result = validate(pullTemplate(), policy, counts=SubscriptionCounts(5, 2, 0))
        self.assertEqual(result.statusCode, 0x0415)
        self.assertTrue(
            validate(pullTemplate(), policy, counts=SubscriptionCounts(5, 1, 9)).created
        )

    def test_perUserLimitNotCreated(self) -> None:
        policy = SubscriptionPolicy(maxSubscriptionsPerUser=3)
        result = validate(pullTemplate(), policy, counts=SubscriptionCounts(5, 5, 3))
        self.assertEqual(result.statusCode, 0x0415)

    def test_noLimits(self) -> None:
        policy = SubscriptionPolicy(maxSubscriptions=None)
        counts = SubscriptionCounts(10**6, 10**6, 10**6)
        self.assertTrue(validate(pullTemplate(), policy, counts=counts).created)

    def test_schemeOutranksLimit(self) -> None:
        """
        0x040C comes before 0x0415.
        """
        policy = SubscriptionPolicy(maxSubscriptions=0)
        result = validate(pushTemplate(uri="mailto:x@example.com"), policy)
        self.assertEqual(result.statusCode, 0x040C)

    def test_schemeOutranksBadEvents(self) -> None:
        result = validate(pushTemplate(events("bogus"), uri="mailto:x@example.com"))
        self.assertEqual(result.statusCode, 0x040C)

    def test_pullMethodOutranksLimit(self) -> None:
        policy = SubscriptionPolicy(maxSubscriptions=0)
        result = validate(
            template(Attribute.keyword("notify-pull-method", "rss")), policy
        )
        self.assertEqual(result.statusCode, 0x040B)

    def test_limitOutranksTooManyEvents(self) -> None:
        policy = SubscriptionPolicy(maxSubscriptions=0, maxEvents=2)
        result = validate(
            pullTemplate(events("job-created", "job-completed", "job-stopped")), policy
        )
        self.assertEqual(result.statusCode, 0x0415)
        self.assertFalse(result.created)

    def test_precedenceOrder(self) -> None:
        self.assertEqual(STATUS_PRECEDENCE, (0x040C, 0x040B, 0x0415, 0x0005, 0x0001))

    def test_emptyUserNameIsAnonymous(self) -> None:
        result = validateTemplate(
            pullTemplate(),
            SubscriptionPolicy(),
            printerUri=PRINTER,
            userName="",
            now=NOW,
        )
        self.assertEqual(created(result).subscriberUserName, "anonymous")


class ResponseTests(SynchronousTestCase):
    """
    L{responseGroup} and L{overallStatus}.
    """

    def assertEncodes(self, group: Group) -> None:
        """
        The group is valid on the wire: it survives an encode/decode round trip.
        """
        message = Message((1, 1), 0, 1, [group])
        self.assertEqual(decode(encode(message)).groups, (group,))

    def test_perPrinterCreated(self) -> None:
        group = responseGroup(validate(pullTemplate(lease(60))), 7)
        self.assertEqual(group.tag, GroupTag.SUBSCRIPTION)
        self.assertEqual(
            list(group),
            [
                Attribute.integer("notify-subscription-id", 7),
                Attribute.integer("notify-lease-duration", 60),
            ],
        )
        self.assertEncodes(group)

    def test_perJobCreatedHasNoLease(self) -> None:
        group = responseGroup(validate(pullTemplate(), jobId=3), 8)
        self.assertEqual(list(group), [Attribute.integer("notify-subscription-id", 8)])

    def test_createdWithUnsupported(self) -> None:
        group = responseGroup(
            validate(
                pullTemplate(
                    Attribute.keyword("x-a", "b"), events("job-completed", "bogus")
                )
            ),
            9,
        )
        self.assertEqual(
            list(group),
            [
                Attribute.integer("notify-subscription-id", 9),
                Attribute.integer("notify-lease-duration", 86400),
                Attribute.of("x-a", ValueTag.UNSUPPORTED, UNSUPPORTED),
                events("bogus"),
                Attribute.enum("notify-status-code", 0x0001),
            ],
        )
        self.assertEncodes(group)

    def test_notCreated(self) -> None:
        """
        A subscription not created: no id, no lease; the echoed attributes and the
        status code (as ippserver answers).
        """
        uri = "nosuch://127.0.0.1/x"
        group = responseGroup(validate(pushTemplate(uri=uri)), 10)
        self.assertEqual(
            list(group),
            [
                Attribute.uri("notify-recipient-uri", uri),
                Attribute.enum("notify-status-code", 0x040C),
            ],
        )
        self.assertEncodes(group)

    def test_withoutIdForValidateJob(self) -> None:
        group = responseGroup(validate(pullTemplate(), jobId=1))
        self.assertEqual(list(group), [])

    def test_badIdRejected(self) -> None:
        self.assertRaises(ValueError, responseGroup, validate(pullTemplate()), 0)

    def test_overallAllCreated(self) -> None:
        ok = validate(pullTemplate())
        self.assertEqual(overallStatus([ok, ok]), 0x0000)
        self.assertEqual(overallStatus([]), 0x0000)

    def test_overallSomeIgnored(self) -> None:
        ok = validate(pullTemplate())
        bad = validate(pushTemplate(uri="mailto:x@example.com"))
        self.assertEqual(overallStatus([ok, bad]), 0x0003)
        self.assertEqual(overallStatus([ok, bad], isJobCreation=True), 0x0003)

    def test_overallAllIgnored(self) -> None:
        bad = validate(pushTemplate(uri="mailto:x@example.com"))
        self.assertEqual(overallStatus([bad, bad]), 0x0414)

    def test_overallAllIgnoredInJobCreation(self) -> None:
        """
        A job creation never fails for its subscriptions: 0x0003 even when none
        was created.
        """
        bad = validate(pushTemplate(uri="mailto:x@example.com"))
        self.assertEqual(overallStatus([bad], isJobCreation=True), 0x0003)

    def test_overallIgnoresSubstitutions(self) -> None:
        substituted = validate(pullTemplate(lease(MAX_LEASE + 1)))
        self.assertEqual(overallStatus([substituted]), 0x0000)


class LeaseTests(SynchronousTestCase):
    """
    L{grantLease}, L{leaseExpiry}, L{expired}, L{renew}.
    """

    def test_grantDefault(self) -> None:
        self.assertEqual(grantLease(None, SubscriptionPolicy()), 86400)
        self.assertEqual(grantLease(None, SubscriptionPolicy(leaseDefault=0)), 0)

    def test_grantRequested(self) -> None:
        self.assertEqual(grantLease(5, SubscriptionPolicy()), 5)

    def test_grantClamped(self) -> None:
        self.assertEqual(grantLease(10**9, SubscriptionPolicy()), MAX_LEASE)
        self.assertEqual(
            grantLease(100, SubscriptionPolicy(leaseDefault=50, leaseMaximum=60)), 60
        )

    def test_grantForever(self) -> None:
        self.assertEqual(grantLease(0, SubscriptionPolicy()), 0)
        policy = SubscriptionPolicy(
            allowForeverLease=False, leaseMaximum=3600, leaseDefault=60
        )
        self.assertEqual(grantLease(0, policy), 3600)

    def test_grantNegativeRejected(self) -> None:
        error = self.assertRaises(
            SubscriptionError, grantLease, -1, SubscriptionPolicy()
        )
        self.assertEqual(error.statusCode, 0x040B)

    @given(
        requested=st.one_of(st.none(), st.integers(min_value=0, max_value=2**31 - 1)),
        maximum=st.integers(min_value=1, max_value=MAX_LEASE),
        forever=st.booleans(),
    )
    def test_grantWithinPolicy(
        self, requested: Optional[int], maximum: int, forever: bool
    ) -> None:
        """
        A granted lease is 0 only if for ever is allowed, else 1 to the maximum.
        """
        policy = SubscriptionPolicy(
            leaseDefault=min(86400, maximum),
            leaseMaximum=maximum,
            allowForeverLease=forever,
        )
        granted = grantLease(requested, policy)
        if granted == 0:
            self.assertTrue(forever)
            self.assertEqual(requested, 0)
        else:
            self.assertTrue(1 <= granted <= maximum)

    def test_leaseExpiry(self) -> None:
        self.assertEqual(leaseExpiry(100.0, 60), 160.0)
        self.assertIsNone(leaseExpiry(100.0, 0))

    def test_expired(self) -> None:
        subscription = Subscription(
            1, PRINTER, ("all",), pullMethod="ippget", leaseExpiresAt=160.0
        )
        self.assertFalse(expired(subscription, 159.9))
        self.assertTrue(expired(subscription, 160.0))
        self.assertTrue(expired(subscription, 1000.0))

    def test_foreverNeverExpires(self) -> None:
        subscription = Subscription(
            1, PRINTER, ("all",), pullMethod="ippget", leaseDuration=0
        )
        self.assertFalse(expired(subscription, 10.0**12))
        self.assertFalse(expired(perJob(3, "all"), 10.0**12))

    def test_renewFromNow(self) -> None:
        """
        Renewing grants a new lease that runs from the time of the request.
        """
        subscription = created(validate(pullTemplate(lease(60))))
        renewed = renew(subscription, 120, SubscriptionPolicy(), NOW + 30)
        self.assertEqual(renewed.leaseDuration, 120)
        self.assertEqual(renewed.leaseExpiresAt, NOW + 150)
        self.assertEqual(renewed.events, subscription.events)

    def test_renewDefaultAndForever(self) -> None:
        subscription = created(validate(pullTemplate(lease(60))))
        self.assertEqual(
            renew(subscription, None, SubscriptionPolicy(), NOW).leaseDuration, 86400
        )
        forever = renew(subscription, 0, SubscriptionPolicy(), NOW)
        self.assertEqual((forever.leaseDuration, forever.leaseExpiresAt), (0, None))

    def test_renewClamped(self) -> None:
        subscription = created(validate(pullTemplate(lease(60))))
        renewed = renew(subscription, 10**6, SubscriptionPolicy(leaseMaximum=3600), NOW)
        self.assertEqual(renewed.leaseDuration, 3600)

    def test_renewPerJobNotPossible(self) -> None:
        """
        A per-job subscription has no lease: renewing it is client-error-not-possible.
        """
        error = self.assertRaises(
            SubscriptionError, renew, perJob(3, "all"), 60, SubscriptionPolicy(), NOW
        )
        self.assertEqual(error.statusCode, 0x0404)

    def test_renewExpiredNotFound(self) -> None:
        subscription = created(validate(pullTemplate(lease(60))))
        error = self.assertRaises(
            SubscriptionError, renew, subscription, 60, SubscriptionPolicy(), NOW + 60
        )
        self.assertEqual(error.statusCode, 0x0406)


class JobEndAndThrottleTests(SynchronousTestCase):
    """
    L{endsAfter} and L{shouldSendProgress}.
    """

    def test_ownJobCompletedEndsPerJob(self) -> None:
        self.assertTrue(endsAfter(perJob(3, "job-completed"), "job-completed", 3))

    def test_endsEvenIfNotSubscribedToCompletion(self) -> None:
        self.assertTrue(endsAfter(perJob(3, "job-progress"), "job-completed", 3))

    def test_otherEventsDoNotEnd(self) -> None:
        subscription = perJob(3, "all")
        self.assertFalse(endsAfter(subscription, "job-completed", 4))
        self.assertFalse(endsAfter(subscription, "job-completed", None))
        self.assertFalse(endsAfter(subscription, "job-state-changed", 3))
        self.assertFalse(endsAfter(subscription, "printer-deleted", None))

    def test_perPrinterNeverEnds(self) -> None:
        self.assertFalse(endsAfter(perPrinter("all"), "job-completed", 3))

    def throttled(self, interval: int) -> Subscription:
        return perPrinter("job-progress").replace(timeInterval=interval)

    def test_noIntervalSendsEvery(self) -> None:
        self.assertTrue(shouldSendProgress(self.throttled(0), 100.0, 100.0))

    def test_firstProgressSent(self) -> None:
        self.assertTrue(shouldSendProgress(self.throttled(30), None, 100.0))

    def test_progressWithinIntervalSuppressed(self) -> None:
        self.assertFalse(shouldSendProgress(self.throttled(30), 100.0, 129.9))

    def test_progressAfterIntervalSent(self) -> None:
        self.assertTrue(shouldSendProgress(self.throttled(30), 100.0, 130.0))

    def test_clockSetBackSends(self) -> None:
        self.assertTrue(shouldSendProgress(self.throttled(30), 100.0, 50.0))


class DescribeTests(SynchronousTestCase):
    """
    L{describe}: the group of Get-Subscription-Attributes and Get-Subscriptions.
    """

    def pushSubscription(self) -> Subscription:
        return Subscription(
            subscriptionId=4,
            printerUri=PRINTER,
            events=("printer-stopped", "job-completed"),
            recipientUri="https://app.example/e",
            userData=b"ref",
            charset="utf-8",
            naturalLanguage="en",
            leaseDuration=3600,
            leaseExpiresAt=1000.0 + 3600,
            timeInterval=5,
            subscriberUserName="alice",
            createdAt=1000.0,
            lastSequence=12,
        )

    def test_allOfPerPrinter(self) -> None:
        """
        C{all} gives every attribute a per-printer push subscription has, with the
        expiration as a printer up-time.
        """
        group = describe(self.pushSubscription(), startedAt=400.0)
        self.assertEqual(group.tag, GroupTag.SUBSCRIPTION)
        self.assertEqual(
            list(group),
            [
                Attribute.integer("notify-subscription-id", 4),
                Attribute.uri("notify-printer-uri", PRINTER),
                Attribute.uri("notify-recipient-uri", "https://app.example/e"),
                Attribute.keyword("notify-events", "printer-stopped", "job-completed"),
                Attribute.octetString("notify-user-data", b"ref"),
                Attribute.charset("notify-charset", "utf-8"),
                Attribute.naturalLanguage("notify-natural-language", "en"),
                Attribute.integer("notify-lease-duration", 3600),
                Attribute.integer("notify-lease-expiration-time", 4200),
                Attribute.integer("notify-time-interval", 5),
                Attribute.nameValue("notify-subscriber-user-name", "alice"),
                Attribute.integer("notify-sequence-number", 12),
            ],
        )
        message = Message((1, 1), 0, 1, [group])
        self.assertEqual(decode(encode(message)).groups, (group,))

    def test_perJobPull(self) -> None:
        """
        A per-job subscription shows its job and no lease.
        """
        group = describe(perJob(9, "job-completed"), now=5000.0)
        self.assertEqual(group.value("notify-job-id"), 9)
        self.assertEqual(group.value("notify-pull-method"), "ippget")
        for absent in (
            "notify-recipient-uri",
            "notify-lease-duration",
            "notify-lease-expiration-time",
            "notify-printer-up-time",
            "notify-user-data",
        ):
            self.assertNotIn(absent, group)

    def test_foreverLeaseExpirationZero(self) -> None:
        subscription = self.pushSubscription().replace(
            leaseDuration=0, leaseExpiresAt=None
        )
        group = describe(subscription)
        self.assertEqual(group.value("notify-lease-expiration-time"), 0)

    def test_printerUpTimeWhenNowGiven(self) -> None:
        group = describe(self.pushSubscription(), startedAt=400.0, now=1500.0)
        self.assertEqual(group.value("notify-printer-up-time"), 1100)
        self.assertNotIn("notify-printer-up-time", describe(self.pushSubscription()))

    def test_unixTimeByDefault(self) -> None:
        """
        Without C{startedAt}, up-times are Unix times, as CUPS gives them.
        """
        group = describe(self.pushSubscription())
        self.assertEqual(group.value("notify-lease-expiration-time"), 4600)

    def test_requestedNames(self) -> None:
        group = describe(
            self.pushSubscription(),
            [
                "notify-sequence-number",
                "notify-subscription-id",
                "notify-job-id",
                "bogus",
            ],
        )
        self.assertEqual(
            group.names(), ["notify-subscription-id", "notify-sequence-number"]
        )

    def test_requestedSingleString(self) -> None:
        group = describe(self.pushSubscription(), "notify-subscription-id")
        self.assertEqual(group.names(), ["notify-subscription-id"])

    def test_subscriptionTemplateGroup(self) -> None:
        group = describe(self.pushSubscription(), ["subscription-template"])
        self.assertEqual(
            group.names(),
            [
                "notify-recipient-uri",
                "notify-events",
                "notify-user-data",
                "notify-charset",
                "notify-natural-language",
                "notify-lease-duration",
                "notify-time-interval",
            ],
        )

    def test_subscriptionDescriptionGroup(self) -> None:
        group = describe(
            self.pushSubscription(), ["subscription-description"], now=2000.0
        )
        self.assertEqual(
            group.names(),
            [
                "notify-subscription-id",
                "notify-printer-uri",
                "notify-lease-expiration-time",
                "notify-printer-up-time",
                "notify-subscriber-user-name",
                "notify-sequence-number",
            ],
        )

    def test_groupAndNameTogether(self) -> None:
        group = describe(
            self.pushSubscription(), ["subscription-description", "notify-events"]
        )
        self.assertIn("notify-events", group)
        self.assertNotIn("notify-recipient-uri", group)

    def test_expandRequested(self) -> None:
        self.assertEqual(
            expandRequested(["notify-events"]), frozenset({"notify-events"})
        )
        self.assertIn("notify-sequence-number", expandRequested(["all"]))
        self.assertIn("notify-time-interval", expandRequested(["all"]))

    def test_upTime(self) -> None:
        self.assertEqual(upTime(1000.9, 0.0), 1000)
        self.assertEqual(upTime(5.0, 10.0), 1)
        self.assertEqual(upTime(10.0**12, 0.0), 2**31 - 1)


def validateRequest(
    name: str,
    policy: Optional[SubscriptionPolicy] = None,
    jobId: Optional[int] = None,
) -> TemplateResult:
    """
    Validate the one template group of a captured request, with what a server
    takes from its operation group.
    """
    message = decode(vector(name))
    groups = message.groupsOf(GroupTag.SUBSCRIPTION)
    assert len(groups) == 1
    operation = message.operation
    return validateTemplate(
        groups[0],
        policy or SubscriptionPolicy(),
        printerUri=str(operation.value("printer-uri")),
        jobId=jobId,
        userName=str(operation.value("requesting-user-name", "anonymous")),
        charset=str(operation.value("attributes-charset")),
        language=str(operation.value("attributes-natural-language")),
        now=NOW,
    )


class VectorTests(SynchronousTestCase):
    """
    The template groups ipptool sent to cupsd.
    """

    def test_createPrinterSubscriptionsPull(self) -> None:
        result = validateRequest(
            "ipptool-2.4.2-create-printer-subscriptions-request.ipp"
        )
        self.assertEqual(result.statusCode, None)
        self.assertEqual(
            created(result),
            Subscription(
                subscriptionId=0,
                printerUri="ipp://127.0.0.1:16631/printers/test",
                events=("all",),
                pullMethod="ippget",
                userData=b"printer-sub",
                charset="utf-8",
                naturalLanguage="en",
                leaseDuration=3600,
                leaseExpiresAt=NOW + 3600,
                subscriberUserName="harness",
                createdAt=NOW,
            ),
        )
        self.assertEqual(
            list(responseGroup(result, 1)),
            [
                Attribute.integer("notify-subscription-id", 1),
                Attribute.integer("notify-lease-duration", 3600),
            ],
        )
        self.assertEqual(overallStatus([result]), 0x0000)

    def test_createPrinterSubscriptionsPushUnknownScheme(self) -> None:
        """
        The push request's C{testntfy} scheme is not supported by default: 0x040C,
        nothing created, and the operation ignores all subscriptions.
        """
        result = validateRequest(
            "ipptool-2.4.2-create-printer-subscriptions-push-request.ipp"
        )
        self.assertFalse(result.created)
        self.assertEqual(result.statusCode, 0x040C)
        self.assertEqual(
            list(responseGroup(result, 1)),
            [
                Attribute.uri("notify-recipient-uri", "testntfy://127.0.0.1:9999/x"),
                Attribute.enum("notify-status-code", 0x040C),
            ],
        )
        self.assertEqual(overallStatus([result]), 0x0414)

    def test_createPrinterSubscriptionsPushSchemeAllowed(self) -> None:
        policy = SubscriptionPolicy(schemesSupported=("http", "testntfy"))
        result = validateRequest(
            "ipptool-2.4.2-create-printer-subscriptions-push-request.ipp", policy
        )
        subscription = created(result)
        self.assertEqual(subscription.recipientUri, "testntfy://127.0.0.1:9999/x")
        self.assertEqual(subscription.events, ("all",))
        self.assertEqual(subscription.userData, b"push-sub")
        self.assertEqual(subscription.leaseDuration, 3600)
        self.assertIsNone(result.statusCode)

    def test_createJobSubscriptions(self) -> None:
        """
        The per-job request (with C{notify-job-id} in its template group, as
        ipptool sends it) creates a per-job subscription with its five events.
        """
        result = validateRequest(
            "ipptool-2.4.2-create-job-subscriptions-request.ipp", jobId=1
        )
        subscription = created(result)
        self.assertIsNone(result.statusCode)
        self.assertEqual(subscription.jobId, 1)
        self.assertEqual(subscription.pullMethod, "ippget")
        self.assertEqual(
            subscription.events,
            (
                "job-state-changed",
                "job-created",
                "job-completed",
                "job-progress",
                "job-config-changed",
            ),
        )
        self.assertEqual(subscription.userData, b"job-sub")
        self.assertIsNone(subscription.leaseDuration)
        self.assertEqual(
            list(responseGroup(result, 2)),
            [Attribute.integer("notify-subscription-id", 2)],
        )
        self.assertEqual(matches(subscription, "job-completed", 1), "job-completed")
        self.assertEqual(matches(subscription, "job-stopped", 1), "job-state-changed")
        self.assertIsNone(matches(subscription, "job-completed", 2))

    def test_printJobWithSubscription(self) -> None:
        result = validateRequest(
            "ipptool-2.4.2-print-job-with-subscription-request.ipp", jobId=7
        )
        subscription = created(result)
        self.assertEqual(subscription.events, ("job-completed", "job-state-changed"))
        self.assertEqual(subscription.userData, b"print-job-sub")
        self.assertEqual(overallStatus([result], isJobCreation=True), 0x0000)
