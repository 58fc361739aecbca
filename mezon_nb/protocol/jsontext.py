"""JSON from a peer we do not trust: one parser for every JSON body and frame both ends read.

:func:`parse_json` raises only ``ValueError``, with a short reason that never quotes the input:
for text that is not JSON or not UTF-8, for nesting deeper than :data:`MAX_DEPTH` (Python's own
parser follows about 1,000 levels up to 3.12 and far more on 3.13, so the limit is ours), and for numbers a float cannot hold (``1e400``) or the
non-standard ``NaN``/``Infinity`` constants, which would otherwise become ``inf`` and raise
``OverflowError`` wherever an ``int`` is made of them.

>>> parse_json(b'{"count": 3}')
{'count': 3}
>>> parse_json("[" * 100_000)
Traceback (most recent call last):
...
ValueError: JSON nested too deeply
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Containers inside containers a document may have; no Mezon body or frame needs more than a few.
MAX_DEPTH = 64


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests more than :data:`MAX_DEPTH` containers (no recursion used).

    >>> _too_deep([[1]]), _too_deep(json.loads("[" * 65 + "]" * 65))
    (False, True)
    """
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"JSON number out of range ({len(text)} characters)")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"JSON has no {name} (non-standard constant)")


def parse_json(data: str | bytes) -> Any:
    """The value of one JSON document; ``ValueError`` (reason only) for anything else.

    >>> parse_json('{"limit": 1e400}')
    Traceback (most recent call last):
    ...
    ValueError: JSON number out of range (5 characters)
    >>> parse_json("Infinity")
    Traceback (most recent call last):
    ...
    ValueError: JSON has no Infinity (non-standard constant)
    >>> parse_json(b"\\xff")
    Traceback (most recent call last):
    ...
    ValueError: not UTF-8 JSON text
    """
    try:
        value = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 JSON text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at character {exc.pos}") from None
    if _too_deep(value):
        raise ValueError("JSON nested too deeply")
    return value


__all__ = ["parse_json"]
