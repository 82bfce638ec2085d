"""
Upstream feeds of events: each turns what a printer or a print server emits into
L{Event <ipp_ntfy.notification.Event>}s, once.

    - L{ippget <ipp_ntfy.sources.ippget>}: subscribes to an upstream printer or
      CUPS queue with the 'ippget' pull method and polls Get-Notifications.
    - L{cups_notifier <ipp_ntfy.sources.cups_notifier>}: the program cupsd runs
      for C{http}, C{https} (and C{ipp-ntfy}) recipient URIs; it reads events from
      its standard input, spools them and delivers them.
"""
