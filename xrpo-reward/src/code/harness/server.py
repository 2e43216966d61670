
# xrpo assert-style harness, untrusted side: loads the candidate's code and answers the
# checker's calls. Nothing here is secret and nothing the candidate does here can pass a
# test: the checker decides, in another process.
import os
import sys

_req = os.fdopen(int(sys.argv[1]), "r", encoding="utf-8")
_resp = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")
_file, _entry = sys.argv[3], sys.argv[4]
del sys.argv[1:3]


def _error(e):
    return [type(e).__name__, str(e)[:2000]]


def _load():
    with open(_file, encoding="utf-8") as f:
        source = f.read()
    ns = {"__name__": "__candidate__", "__file__": _file, "__builtins__": __builtins__}
    exec(compile(source, _file, "exec"), ns)
    return ns[_entry]


try:
    _fn = _load()
except SystemExit:
    os._exit(0)
except BaseException as e:  # noqa: BLE001
    _send(_resp, {"load": _error(e)})
    os._exit(1)
_send(_resp, {"ready": True})
for _line in _req:
    try:
        _call = _json.loads(_line)
        _args = [_dec(a) for a in _call["a"]]
        _kwargs = {k: _dec(v) for k, v in _call["k"]}
        _result = {"r": _enc(_fn(*_args, **_kwargs))}
    except SystemExit:
        os._exit(0)
    except BaseException as e:  # noqa: BLE001
        _result = {"e": _error(e)}
    _send(_resp, _result)
os._exit(0)
