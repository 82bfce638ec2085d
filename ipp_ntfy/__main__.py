"""
The C{ipp-ntfy} command (also C{python -m ipp_ntfy}).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO, List, Optional, Sequence, TextIO

from .ipp import IppDecodeError, Message, MessageStream, decode
from .ipp.format import formatMessage, messageToJSON


def _readInput(path: str, stdin: BinaryIO) -> bytes:
    if path == "-":
        return stdin.read()
    with open(path, "rb") as f:
        return f.read()


def _decodeCommand(
    options: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO
) -> int:
    try:
        data = _readInput(options.file, stdin)
    except OSError as e:
        stderr.write(f"error: cannot read {options.file}: {e.strerror}\n")
        return 1
    request: Optional[bool] = None
    if options.request:
        request = True
    elif options.response:
        request = False
    messages: List[Message] = []
    try:
        if options.stream:
            stream = MessageStream(lenient=options.lenient)
            messages = stream.feed(data)
            stream.close()
        else:
            messages = [decode(data, lenient=options.lenient)]
    except IppDecodeError as e:
        _show(messages, options.json, request, stdout)
        stderr.write(f"error at offset {e.offset}: {e.reason}\n")
        return 1
    _show(messages, options.json, request, stdout)
    return 0


def _show(
    messages: Sequence[Message], asJSON: bool, request: Optional[bool], stdout: TextIO
) -> None:
    for index, message in enumerate(messages):
        if asJSON:
            stdout.write(json.dumps(messageToJSON(message, request)) + "\n")
        else:
            if index:
                stdout.write("\n")
            stdout.write(formatMessage(message, request) + "\n")
    stdout.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipp-ntfy",
        description="HTTP-based IPP event notifications: tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    decoder = commands.add_parser(
        "decode",
        help="show an IPP message (application/ipp) readably or as JSON",
        description=(
            "Decode an IPP message (RFC 8010) and show its header and every "
            "attribute: group, name, syntax, values.  Exit status 1 and "
            "'error at offset N: reason' on standard error if it is not valid."
        ),
    )
    decoder.add_argument(
        "file", metavar="FILE", help="the message; - for standard input"
    )
    decoder.add_argument(
        "--json", action="store_true", help="print one JSON object per message"
    )
    decoder.add_argument(
        "--stream",
        action="store_true",
        help=(
            "FILE holds messages back to back with no separator, as cupsd writes "
            "events to a notifier's standard input"
        ),
    )
    decoder.add_argument(
        "--lenient",
        action="store_true",
        help="accept known printer quirks (bad UTF-8, odd lengths) instead of failing",
    )
    kind = decoder.add_mutually_exclusive_group()
    kind.add_argument(
        "--request",
        action="store_true",
        help="name the header code as an operation (default: guessed)",
    )
    kind.add_argument(
        "--response",
        action="store_true",
        help="name the header code as a status code (default: guessed)",
    )
    decoder.set_defaults(run=_decodeCommand)
    return parser


def main(
    argv: Optional[Sequence[str]] = None,
    stdin: Optional[BinaryIO] = None,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
) -> int:
    """
    Run the command line C{argv} (default: C{sys.argv[1:]}).

    @return: the exit status.
    """
    options = _parser().parse_args(argv)
    try:
        return int(
            options.run(
                options,
                stdin if stdin is not None else sys.stdin.buffer,
                stdout if stdout is not None else sys.stdout,
                stderr if stderr is not None else sys.stderr,
            )
        )
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
