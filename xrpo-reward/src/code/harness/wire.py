# xrpo assert-style harness: the value encoding shared by both processes (see harness.rs).
# A value crosses between the checker and the candidate's process as JSON with tagged
# containers; decoding builds exact built-in types only, so no object of the candidate's
# (an `__eq__` that is always true, say) ever reaches the checker.
import json as _json

_MAX_DEPTH = 200


class _Unencodable(TypeError):
    pass


def _enc(v, depth=0):
    if depth > _MAX_DEPTH:
        raise _Unencodable("value nested deeper than %d levels" % _MAX_DEPTH)
    d = depth + 1
    if v is None or v is True or v is False:
        return v
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return {"i": int.__format__(v, "x")}
    if isinstance(v, float):
        return {"f": float.hex(v)}
    if isinstance(v, complex):
        return {"c": [float.hex(v.real), float.hex(v.imag)]}
    if isinstance(v, list):
        return [_enc(x, d) for x in list.__iter__(v)]
    if isinstance(v, tuple):
        return {"t": [_enc(x, d) for x in tuple.__iter__(v)]}
    if isinstance(v, dict):
        return {"d": [[_enc(k, d), _enc(x, d)] for k, x in dict.items(v)]}
    if isinstance(v, frozenset):
        return {"fs": [_enc(x, d) for x in frozenset.__iter__(v)]}
    if isinstance(v, set):
        return {"s": [_enc(x, d) for x in set.__iter__(v)]}
    if isinstance(v, bytes):
        return {"b": bytes.hex(v)}
    if isinstance(v, bytearray):
        return {"ba": bytearray.hex(v)}
    # Numbers of other libraries (numpy scalars) convert to the built-in kind they stand for.
    if hasattr(type(v), "__index__"):
        return {"i": int.__format__(type(v).__index__(v), "x")}
    if hasattr(type(v), "__float__") and not hasattr(type(v), "__iter__"):
        return {"f": float.hex(float(v))}
    raise _Unencodable(
        "a value of type %s cannot be checked (only built-in data types can)" % type(v).__name__
    )


def _dec(v):
    if v is None or type(v) is bool or type(v) is str:
        return v
    if type(v) is list:
        return [_dec(x) for x in v]
    if type(v) is not dict or len(v) != 1:
        raise ValueError("malformed value on the harness pipe")
    ((tag, x),) = v.items()
    if tag == "i":
        return int(x, 16)
    if tag == "f":
        return float.fromhex(x)
    if tag == "c":
        return complex(float.fromhex(x[0]), float.fromhex(x[1]))
    if tag == "t":
        return tuple(_dec(e) for e in x)
    if tag == "d":
        return {_dec(k): _dec(e) for k, e in x}
    if tag == "s":
        return {_dec(e) for e in x}
    if tag == "fs":
        return frozenset(_dec(e) for e in x)
    if tag == "b":
        return bytes.fromhex(x)
    if tag == "ba":
        return bytearray.fromhex(x)
    raise ValueError("malformed value on the harness pipe")


def _send(f, msg):
    f.write(_json.dumps(msg))
    f.write("\n")
    f.flush()
