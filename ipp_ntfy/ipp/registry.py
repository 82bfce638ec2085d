"""
Names for the numbers of IPP: operation ids, status codes and enum values (RFC 8011,
RFC 3995, RFC 3996, RFC 3998, the indp draft and the CUPS extensions).

Used to show and look up names; decoding never needs it.
"""

from __future__ import annotations

from typing import Dict, Optional

OPERATIONS: Dict[int, str] = {
    0x0002: "Print-Job",
    0x0003: "Print-URI",
    0x0004: "Validate-Job",
    0x0005: "Create-Job",
    0x0006: "Send-Document",
    0x0007: "Send-URI",
    0x0008: "Cancel-Job",
    0x0009: "Get-Job-Attributes",
    0x000A: "Get-Jobs",
    0x000B: "Get-Printer-Attributes",
    0x000C: "Hold-Job",
    0x000D: "Release-Job",
    0x000E: "Restart-Job",
    0x0010: "Pause-Printer",
    0x0011: "Resume-Printer",
    0x0012: "Purge-Jobs",
    0x0013: "Set-Printer-Attributes",
    0x0014: "Set-Job-Attributes",
    0x0015: "Get-Printer-Supported-Values",
    0x0016: "Create-Printer-Subscriptions",
    0x0017: "Create-Job-Subscriptions",
    0x0018: "Get-Subscription-Attributes",
    0x0019: "Get-Subscriptions",
    0x001A: "Renew-Subscription",
    0x001B: "Cancel-Subscription",
    0x001C: "Get-Notifications",
    0x001D: "Send-Notifications",
    0x0022: "Enable-Printer",
    0x0023: "Disable-Printer",
    0x0024: "Pause-Printer-After-Current-Job",
    0x0025: "Hold-New-Jobs",
    0x0026: "Release-Held-New-Jobs",
    0x0027: "Deactivate-Printer",
    0x0028: "Activate-Printer",
    0x0029: "Restart-Printer",
    0x002A: "Shutdown-Printer",
    0x002B: "Startup-Printer",
    0x002C: "Reprocess-Job",
    0x002D: "Cancel-Current-Job",
    0x002E: "Suspend-Current-Job",
    0x002F: "Resume-Job",
    0x0030: "Promote-Job",
    0x0031: "Schedule-Job-After",
    0x0033: "Cancel-Document",
    0x0034: "Get-Document-Attributes",
    0x0035: "Get-Documents",
    0x0039: "Cancel-Jobs",
    0x003A: "Cancel-My-Jobs",
    0x003B: "Resubmit-Job",
    0x003C: "Close-Job",
    0x003D: "Identify-Printer",
    0x003E: "Validate-Document",
    0x4001: "CUPS-Get-Default",
    0x4002: "CUPS-Get-Printers",
    0x4003: "CUPS-Add-Modify-Printer",
    0x4004: "CUPS-Delete-Printer",
    0x4005: "CUPS-Get-Classes",
    0x4006: "CUPS-Add-Modify-Class",
    0x4007: "CUPS-Delete-Class",
    0x4008: "CUPS-Accept-Jobs",
    0x4009: "CUPS-Reject-Jobs",
    0x400A: "CUPS-Set-Default",
    0x400B: "CUPS-Get-Devices",
    0x400C: "CUPS-Get-PPDs",
    0x400D: "CUPS-Move-Job",
    0x400E: "CUPS-Authenticate-Job",
    0x400F: "CUPS-Get-PPD",
    0x4027: "CUPS-Get-Document",
    0x4028: "CUPS-Create-Local-Printer",
}

#: The notification protocol's own operation: Report-Ipp-Notifications of the HTTP
#: delivery draft uses operation-id 0x0003 with IPP version 1.0 (the same number is
#: Print-URI in IPP/1.1 and later), so it is named by version in L{operationName}.
REPORT_IPP_NOTIFICATIONS = 0x0003

STATUS_CODES: Dict[int, str] = {
    0x0000: "successful-ok",
    0x0001: "successful-ok-ignored-or-substituted-attributes",
    0x0002: "successful-ok-conflicting-attributes",
    0x0003: "successful-ok-ignored-subscriptions",
    0x0004: "successful-ok-ignored-notifications",
    0x0005: "successful-ok-too-many-events",
    0x0006: "successful-ok-but-cancel-subscription",
    0x0007: "successful-ok-events-complete",
    0x0300: "redirection-other-site",
    0x0400: "client-error-bad-request",
    0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated",
    0x0403: "client-error-not-authorized",
    0x0404: "client-error-not-possible",
    0x0405: "client-error-timeout",
    0x0406: "client-error-not-found",
    0x0407: "client-error-gone",
    0x0408: "client-error-request-entity-too-large",
    0x0409: "client-error-request-value-too-long",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported",
    0x040C: "client-error-uri-scheme-not-supported",
    0x040D: "client-error-charset-not-supported",
    0x040E: "client-error-conflicting-attributes",
    0x040F: "client-error-compression-not-supported",
    0x0410: "client-error-compression-error",
    0x0411: "client-error-document-format-error",
    0x0412: "client-error-document-access-error",
    0x0413: "client-error-attributes-not-settable",
    0x0414: "client-error-ignored-all-subscriptions",
    0x0415: "client-error-too-many-subscriptions",
    0x0416: "client-error-ignored-all-notifications",
    0x0417: "client-error-print-support-file-not-found",
    0x0418: "client-error-document-password-error",
    0x0419: "client-error-document-permission-error",
    0x041A: "client-error-document-security-error",
    0x041B: "client-error-document-unprintable-error",
    0x041C: "client-error-account-info-needed",
    0x041D: "client-error-account-closed",
    0x041E: "client-error-account-limit-reached",
    0x041F: "client-error-account-authorization-failed",
    0x0420: "client-error-not-fetchable",
    0x0500: "server-error-internal-error",
    0x0501: "server-error-operation-not-supported",
    0x0502: "server-error-service-unavailable",
    0x0503: "server-error-version-not-supported",
    0x0504: "server-error-device-error",
    0x0505: "server-error-temporary-error",
    0x0506: "server-error-not-accepting-jobs",
    0x0507: "server-error-busy",
    0x0508: "server-error-job-canceled",
    0x0509: "server-error-multiple-document-jobs-not-supported",
    0x050A: "server-error-printer-is-deactivated",
    0x050B: "server-error-too-many-jobs",
    0x050C: "server-error-too-many-documents",
}

_CLASSES = {
    0x00: "successful",
    0x01: "informational",
    0x03: "redirection",
    0x04: "client-error",
    0x05: "server-error",
}

JOB_STATES = {
    3: "pending",
    4: "pending-held",
    5: "processing",
    6: "processing-stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}

PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}

_STATUS_ENUMS = ("notify-status-code", "notification-report-status-code")

ENUMS: Dict[str, Dict[int, str]] = {
    "job-state": JOB_STATES,
    "printer-state": PRINTER_STATES,
    "operations-supported": OPERATIONS,
    "orientation-requested": {
        3: "portrait",
        4: "landscape",
        5: "reverse-landscape",
        6: "reverse-portrait",
        7: "none",
    },
    "print-quality": {3: "draft", 4: "normal", 5: "high"},
}
for _name in _STATUS_ENUMS:
    ENUMS[_name] = STATUS_CODES
for _name in list(ENUMS):
    for _suffix in ("-default", "-supported", "-actual", "-ready"):
        if not _name.endswith("-supported"):
            ENUMS.setdefault(_name + _suffix, ENUMS[_name])
ENUMS["notify-job-state"] = JOB_STATES

_OPERATION_IDS = {name: code for code, name in OPERATIONS.items()}
_STATUS_BY_NAME = {name: code for code, name in STATUS_CODES.items()}


def operationName(code: int) -> str:
    """
    @return: the operation's name, or C{"operation-0xNNNN"} for an unknown one.
    """
    return OPERATIONS.get(code, f"operation-0x{code:04x}")


def operationId(name: str) -> int:
    """
    @return: the operation-id called C{name}.
    @raise KeyError: for an unknown name.
    """
    return _OPERATION_IDS[name]


def statusName(code: int) -> str:
    """
    @return: the status code's name; an unknown one is named by its class (RFC 8011:
        a client treats it as the first code of that class), e.g.
        C{"client-error-0x04ff"}.
    """
    name = STATUS_CODES.get(code)
    if name is not None:
        return name
    return f"{_CLASSES.get(code >> 8, 'status')}-0x{code:04x}"


def statusCode(name: str) -> int:
    """
    @return: the status code called C{name}.
    @raise KeyError: for an unknown name.
    """
    return _STATUS_BY_NAME[name]


def enumName(attribute: str, value: int) -> Optional[str]:
    """
    @return: the keyword of enum C{value} of C{attribute} (e.g. C{job-state} 9 is
        C{"completed"}), or C{None} if unknown.
    """
    names = ENUMS.get(attribute)
    if names is None:
        return None
    return names.get(value)
