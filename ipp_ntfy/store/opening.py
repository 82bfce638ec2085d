"""
A store from the C{--db} value of the relay and of the operator commands: a file
path opens L{SQLiteStore <ipp_ntfy.store.sqlite.SQLiteStore>}, a
C{postgresql://} or C{postgres://} URL opens L{PostgresStore
<ipp_ntfy.store.postgres.PostgresStore>}::

    store = await openStore("postgresql://relay@db.example/ipp", reactor)

Errors are one line, fit for a command's standard error (L{describeError}); a
URL's password never appears in them (L{redacted}).
"""

from __future__ import annotations

import sqlite3
from typing import Any, Dict, Optional
from urllib.parse import urlsplit, urlunsplit

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime

from ..interfaces import ISubscriptionStore
from .sqlite import StoreFileError

#: The URL schemes that name a PostgreSQL database (as libpq reads them).
DATABASE_SCHEMES = ("postgresql://", "postgres://")

#: The default claim lease, in seconds (see L{PostgresStore.dueEvents
#: <ipp_ntfy.store.postgres.PostgresStore.dueEvents>}).
DEFAULT_CLAIM_LEASE = 60.0


class StoreLocationError(ValueError):
    """
    A C{--db} value names no usable database: a malformed URL, or a server that
    cannot be reached.  The message is one line.
    """


def isDatabaseUrl(db: str) -> bool:
    """
    @return: whether C{db} is a PostgreSQL URL rather than a file path.
    """
    return db.lower().startswith(DATABASE_SCHEMES)


def redacted(db: str) -> str:
    """
    @return: C{db} fit to be shown: a URL without its password.
    """
    if not isDatabaseUrl(db):
        return db
    try:
        parts = urlsplit(db)
        if parts.password is None:
            return db
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return db.split("://", 1)[0] + "://..."


def checkDatabaseUrl(db: str) -> Dict[str, Any]:
    """
    Read a PostgreSQL URL as libpq would.

    @return: its connection parameters.
    @raise StoreLocationError: if it is not a valid URL.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    shown = redacted(db)
    try:
        parameters = conninfo_to_dict(db)
    except ProgrammingError as e:
        raise StoreLocationError(f"bad database URL {shown}: {oneLine(e)}") from None
    port = str(parameters.get("port", ""))
    if port and not all(p.isdigit() for p in port.split(",")):
        raise StoreLocationError(f"bad database URL {shown}: port {port!r}")
    if not parameters.get("dbname"):
        raise StoreLocationError(f"bad database URL {shown}: no database name")
    return parameters


def oneLine(error: BaseException) -> str:
    """
    @return: an error's message on one line (libpq's have several).
    """
    return " ".join(str(error).split()) or type(error).__name__


def describeError(db: str, error: BaseException) -> str:
    """
    @return: a one-line account of why the store at C{db} could not be used.
    """
    shown = redacted(db)
    if isinstance(error, (StoreLocationError, StoreFileError)):
        return str(error)
    if isinstance(error, sqlite3.DatabaseError):
        return f"{shown}: not an ipp_ntfy store ({error})"
    if isinstance(error, (sqlite3.Error, OSError)):
        return f"{shown}: {error}"
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        psycopg = None  # type: ignore[assignment]
    if psycopg is not None and isinstance(error, psycopg.OperationalError):
        return f"cannot use database {shown}: {oneLine(error)}"
    if psycopg is not None and isinstance(error, psycopg.Error):
        return f"database {shown}: {oneLine(error)}"
    return f"{type(error).__name__}: {oneLine(error)}"


def openStore(
    db: str,
    reactor: IReactorTime,
    *,
    claimLease: float = DEFAULT_CLAIM_LEASE,
    create: bool = True,
    connectTimeout: Optional[float] = 10.0,
) -> Deferred[ISubscriptionStore]:
    """
    Open the store a C{--db} value names.

    @param db: a file path (SQLite) or a C{postgresql://} URL.
    @param reactor: the reactor the store runs on.
    @param claimLease: for PostgreSQL, see L{PostgresStore.open
        <ipp_ntfy.store.postgres.PostgresStore.open>}; ignored for SQLite.
    @param create: whether a PostgreSQL database without tables is made a store;
        if not, it is refused with L{StoreFileError}.  (SQLite files are always
        created: an operator command checks the file first.)
    @param connectTimeout: the longest wait, in seconds, for the PostgreSQL
        server to answer, unless the URL says (C{connect_timeout}).
    @return: a L{Deferred} that fires with the open store, or fails with
        L{StoreLocationError} for a bad URL, L{StoreFileError} for a database
        that is not a store, or the database's own error (give it to
        L{describeError}).
    """
    if not isDatabaseUrl(db):
        from .sqlite import SQLiteStore

        return SQLiteStore.open(db, reactor)  # type: ignore[return-value]
    try:
        parameters = checkDatabaseUrl(db)
    except StoreLocationError:
        return fail()
    from psycopg.conninfo import make_conninfo

    from .postgres import PostgresStore

    dsn = db
    if connectTimeout is not None and "connect_timeout" not in parameters:
        dsn = make_conninfo(db, connect_timeout=max(1, round(connectTimeout)))
    return PostgresStore.open(  # type: ignore[return-value]
        dsn, reactor, claimLease=claimLease, create=create
    )


__all__ = [
    "DATABASE_SCHEMES",
    "DEFAULT_CLAIM_LEASE",
    "StoreLocationError",
    "checkDatabaseUrl",
    "describeError",
    "isDatabaseUrl",
    "openStore",
    "redacted",
]
