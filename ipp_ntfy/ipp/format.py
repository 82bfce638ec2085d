"""
Readable and JSON forms of a L{Message}, as the C{decode} command prints them.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional

from . import registry
from .message import Attribute, Message, formatValue
from .tags import groupTagName, valueTagName
from .values import (
    Collection,
    DateTime,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    Value,
)

# Operation attributes that only a request carries, to tell requests from responses
# when nobody says which a decoded message is.
_REQUEST_TARGETS = ("printer-uri", "job-uri", "system-uri", "notify-recipient-uri")


def isRequest(message: Message) -> bool:
    """
    Guess whether a decoded message is a request: the header does not say, so look
    for a target attribute that only requests carry.
    """
    operation = message.operation
    return any(name in operation for name in _REQUEST_TARGETS)


def describeCode(message: Message, request: Optional[bool] = None) -> str:
    """
    @return: e.g. C{"Get-Notifications (0x001c)"} or C{"successful-ok (0x0000)"}.
    """
    if request is None:
        request = isRequest(message)
    if request:
        return f"{registry.operationName(message.code)} (0x{message.code:04x})"
    return f"{registry.statusName(message.code)} (0x{message.code:04x})"


def formatMessage(message: Message, request: Optional[bool] = None) -> str:
    """
    @return: a readable multi-line dump: the header, then each group with one line
        per attribute (name, syntax, values).
    """
    lines = [
        f"IPP/{message.version[0]}.{message.version[1]} "
        f"{describeCode(message, request)} request-id {message.requestId}"
    ]
    for group in message.groups:
        lines.append(groupTagName(group.tag))
        for attribute in group.attributes:
            _formatAttribute(lines, attribute, "  ")
    lines.append("end-of-attributes-tag")
    if message.data:
        lines.append(f"data: {len(message.data)} bytes")
    return "\n".join(lines)


def _formatAttribute(lines: List[str], attribute: Attribute, indent: str) -> None:
    if any(isinstance(v, Collection) for v in attribute.values):
        lines.append(f"{indent}{attribute.name} ({attribute.syntax}) =")
        for index, value in enumerate(attribute.values):
            if isinstance(value, Collection):
                lines.append(f"{indent}  [{index + 1}]")
                for member in value.attributes:
                    _formatAttribute(lines, member, indent + "    ")
            else:
                lines.append(f"{indent}  [{index + 1}] {formatValue(value)}")
        return
    shown = []
    for value, tag in zip(attribute.values, attribute.tags):
        text = formatValue(value)
        if tag == 0x23 and isinstance(value, int):
            label = registry.enumName(attribute.name, value)
            if label is not None:
                text = f"{value} ({label})"
        shown.append(text)
    lines.append(f"{indent}{attribute.name} ({attribute.syntax}) = {', '.join(shown)}")


def messageToJSON(message: Message, request: Optional[bool] = None) -> Dict[str, Any]:
    """
    @return: a JSON-ready dict: C{version}, C{operation-id} or C{status-code} (with
        its name), C{request-id}, C{groups} (each C{tag} and C{attributes}, each
        attribute C{name}, C{syntax} and C{values}) and, if any, C{data} in base64.
    """
    if request is None:
        request = isRequest(message)
    result: Dict[str, Any] = {"version": f"{message.version[0]}.{message.version[1]}"}
    if request:
        result["operation-id"] = message.code
        result["operation"] = registry.operationName(message.code)
    else:
        result["status-code"] = message.code
        result["status"] = registry.statusName(message.code)
    result["request-id"] = message.requestId
    result["groups"] = [
        {
            "tag": groupTagName(group.tag),
            "attributes": [attributeToJSON(a) for a in group.attributes],
        }
        for group in message.groups
    ]
    if message.data:
        result["data"] = base64.b64encode(message.data).decode("ascii")
    return result


def attributeToJSON(attribute: Attribute) -> Dict[str, Any]:
    """
    @return: C{{"name": ..., "syntax": ..., "values": [...]}}.
    """
    return {
        "name": attribute.name,
        "syntax": attribute.syntax,
        "values": [valueToJSON(v) for v in attribute.values],
    }


def valueToJSON(value: Value) -> Any:
    """
    @return: a JSON scalar, list or object for one value: numbers, booleans and
        strings as themselves; octetString as C{{"octets": base64}}; dateTime as an
        ISO 8601 string; rangeOfInteger as C{{"lower", "upper"}}; resolution as
        C{{"cross-feed", "feed", "units"}}; a collection as an object of member name
        to list of values; out-of-band as C{{"out-of-band": "no-value"}}; an unknown
        tag as C{{"tag": n, "octets": base64}}.
    """
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, bytes):
        return {"octets": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Collection):
        return {
            member.name: [valueToJSON(v) for v in member.values]
            for member in value.attributes
        }
    if isinstance(value, OutOfBand):
        return {"out-of-band": valueTagName(value.tag)}
    if isinstance(value, DateTime):
        return str(value)
    if isinstance(value, Range):
        return {"lower": value.lower, "upper": value.upper}
    if isinstance(value, Resolution):
        return {"cross-feed": value.crossFeed, "feed": value.feed, "units": value.units}
    if isinstance(value, TextWithLanguage):
        return {"text": value.text, "language": value.language}
    if isinstance(value, Unknown):
        return {
            "tag": value.tag,
            "octets": base64.b64encode(value.data).decode("ascii"),
        }
    raise TypeError(f"not an IPP value: {value!r}")
