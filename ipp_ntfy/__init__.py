"""
ipp_ntfy: HTTP-based IPP event notifications for Twisted.

The IPP codec is L{ipp_ntfy.ipp}.
"""

from ._version import __version__

__all__ = ["__version__"]
