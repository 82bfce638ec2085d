"""
Access to the captured IPP messages in C{tests/vectors/}.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

VECTORS = Path(__file__).parent / "vectors"

#: The document data that follows the IPP message in the Print-Job request vector.
PRINT_JOB_DOCUMENT_BYTES = 41


def vectorNames() -> List[str]:
    """
    @return: the file names of every captured single message, sorted.
    """
    return sorted(p.name for p in VECTORS.glob("*.ipp"))


def vector(name: str) -> bytes:
    """
    @return: the octets of one captured file.
    """
    return (VECTORS / name).read_bytes()
