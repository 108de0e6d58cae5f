"""How process.py's state crosses a hop: JSON, plus tags for the Python values JSON would change.

Plain JSON silently turns int dict keys into strings and tuples into lists, so a chain would see a
different state after its first hop than one pass does. `encode` keeps every value of these types
exactly as it was (`decode(json(encode(x))) == x`) and refuses anything else with a StateError
naming where it is, so a chain and one pass give the same result or both stop at a commit:

    None, bool, int, float (also nan and inf), str, bytes, list, tuple, dict (any of these as
    keys), set, frozenset, collections.Counter, collections.OrderedDict, decimal.Decimal,
    datetime.datetime, datetime.date, datetime.time (naive, or with a ZoneInfo or timezone)

Exact types only: a defaultdict (its factory is code), an IntEnum or a dataclass is refused.
A tagged value is a JSON object whose only tag key is TAG; a user's dict that has a key named
TAG is itself written in tagged form, so nothing the user stores is ever read as a tag.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections import Counter, OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

TAG = "$py"


class StateError(Exception):
    """process.py put something in its state (or result) that cannot be carried to the next hop."""


def _path(parent: str, key: Any) -> str:
    return f"{parent}[{key!r}]"


def _items(pairs: Any, path: str) -> list[Any]:
    return [[encode(k, f"{path} key {k!r}"), encode(v, _path(path, k))] for k, v in pairs]


def encode(value: Any, path: str = "state") -> Any:
    """`value` as JSON-ready data that `decode` turns back into an equal value."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {TAG: "float", "v": repr(value)}
    if kind is list:
        return [encode(v, _path(path, i)) for i, v in enumerate(value)]
    if kind is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: encode(v, _path(path, k)) for k, v in value.items()}
        return {TAG: "dict", "items": _items(value.items(), path)}
    if kind in (tuple, set, frozenset):
        members = sorted(value, key=repr) if kind is not tuple else value
        return {TAG: kind.__name__, "items": [encode(v, _path(path, i)) for i, v in enumerate(members)]}
    encoder = _SCALARS.get(kind)
    if encoder is not None:
        return {TAG: kind.__name__, "v": encoder(value, path)}
    if kind in (Counter, OrderedDict):
        return {TAG: kind.__name__, "items": _items(value.items(), path)}
    raise StateError(f"{path} is a {kind.__module__}.{kind.__qualname__}, which cannot cross a hop: {_advice(value)}")


def _zone(value: dt.tzinfo | None, path: str) -> list[Any] | None:
    """A tzinfo as data: a zone by name (keeps its rules), a fixed offset in seconds, or None."""
    if value is None:
        return None
    if type(value) is ZoneInfo and value.key:
        return ["zone", value.key]
    if type(value) is dt.timezone:
        return ["offset", value.utcoffset(None).total_seconds()]
    raise StateError(f"{path} has a {type(value).__name__} time zone; use a zoneinfo.ZoneInfo or datetime.timezone")


def _unzone(spec: list[Any] | None) -> dt.tzinfo | None:
    if spec is None:
        return None
    kind, arg = spec
    return ZoneInfo(arg) if kind == "zone" else dt.timezone(dt.timedelta(seconds=arg))


def _clock(value: dt.datetime | dt.time, path: str) -> list[Any]:
    return [value.replace(tzinfo=None).isoformat(), _zone(value.tzinfo, path), value.fold]


_SCALARS: dict[type, Callable[[Any, str], Any]] = {
    bytes: lambda b, _: base64.b64encode(b).decode(),
    Decimal: lambda d, _: str(d),
    dt.date: lambda d, _: d.isoformat(),
    dt.datetime: _clock,
    dt.time: _clock,
}
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "bytes": base64.b64decode,
    "Decimal": Decimal,
    "date": dt.date.fromisoformat,
    "datetime": lambda v: dt.datetime.fromisoformat(v[0]).replace(tzinfo=_unzone(v[1]), fold=v[2]),
    "time": lambda v: dt.time.fromisoformat(v[0]).replace(tzinfo=_unzone(v[1]), fold=v[2]),
}
_CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    # Keys were encoded on their own, so a tuple key is a tuple again by now (object_hook works
    # from the inside out).
    "dict": dict,
    "Counter": lambda items: Counter(dict(items)),
    "OrderedDict": OrderedDict,
}


def _advice(value: Any) -> str:
    if isinstance(value, dict):
        return "use a plain dict (e.g. counts[k] = counts.get(k, 0) + 1 instead of a defaultdict)"
    if isinstance(value, int | float | str):
        return "store its plain value (int(x), float(x), str(x))"
    return "store plain values (dict, list, tuple, set, str, int, float, bool, None, bytes, Decimal, datetime)"


def decode_tagged(doc: dict[str, Any]) -> Any:
    """A json.loads object_hook: tagged objects become their Python values, others stay dicts."""
    tag = doc.get(TAG)
    if tag is None or len(doc) != 2:
        return doc
    if tag in _PARSERS and "v" in doc:
        return _PARSERS[tag](doc["v"])
    if tag in _CONTAINERS and isinstance(doc.get("items"), list):
        return _CONTAINERS[tag](doc["items"])
    raise StateError(f"unknown state tag {tag!r}: the checkpoint was written by other code or altered")


def check_result(value: Any, path: str) -> None:
    """The run's result goes to the manifest as plain JSON for other tools to read. JSON writes
    tuples as lists and int, float, bool and None keys as strings, the same in one pass and in a
    chain; what it cannot write faithfully at all (two keys that become the same string, nan,
    other types) is refused here, naming where it is."""
    kind = type(value)
    if value is None or kind in (bool, int, str) or (kind is float and math.isfinite(value)):
        return
    if kind in (list, tuple):
        for i, v in enumerate(value):
            check_result(v, _path(path, i))
        return
    if kind is dict:
        seen: dict[str, Any] = {}
        for k, v in value.items():
            if k is not None and type(k) not in (str, int, float, bool):
                raise StateError(f"{path}: key {k!r} is a {type(k).__name__}; JSON keys are strings, numbers or null")
            name = k if type(k) is str else json.dumps({k: 0})[1:-4].strip('"')  # how JSON spells the key
            if name in seen:
                raise StateError(f"{path}: keys {seen[name]!r} and {k!r} would both be {name!r} in JSON")
            seen[name] = k
            check_result(v, _path(path, k))
        return
    raise StateError(
        f"{path} is a {kind.__name__}, which the manifest's JSON cannot hold; return dicts, lists, "
        "str, int, finite float, bool and None from finish() (e.g. sorted(a_set), str(a_decimal))"
    )
