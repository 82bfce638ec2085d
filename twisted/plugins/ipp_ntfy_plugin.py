# The twistd dropin for ipp_ntfy: `twistd ipp-ntfy listen|...`.  Lazy: nothing of
# ipp_ntfy is imported until the command runs.
from twisted.application.service import ServiceMaker

IppNtfy = ServiceMaker(
    "ipp-ntfy",
    "ipp_ntfy.tap",
    "HTTP-based IPP event notifications: a notification listener (and relay).",
    "ipp-ntfy",
)
