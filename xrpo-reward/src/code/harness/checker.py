
# xrpo assert-style harness, trusted side (the "checker"). It reads the tests on stdin,
# makes itself non-dumpable (so a process of the same uid can neither ptrace it nor read
# its memory or open its file descriptors), starts the candidate's code in a separate
# interpreter, and runs `check` here, calling the candidate over a private pipe. The exit
# status is the verdict (see harness.rs); the candidate's process cannot reach it.
import os
import sys

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_ENDED, EXIT_SYNTAX, EXIT_MEMORY = 0, 10, 11, 12, 13, 14
EXIT_BAD_REFERENCE, EXIT_CPU, EXIT_HARNESS = 15, 16, 20


def _fatal(msg, status=EXIT_HARNESS):
    try:
        sys.stderr.write("xrpo-harness: %s\n" % msg)
        sys.stderr.flush()
    finally:
        os._exit(status)


if sys.flags.optimize:
    _fatal("refusing to run under -O or PYTHONOPTIMIZE: assert statements would vanish")
try:
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, 0
        _fatal("prctl(PR_SET_DUMPABLE, 0) failed with errno %d" % ctypes.get_errno())
except Exception as e:  # noqa: BLE001
    _fatal("cannot make the checker non-dumpable: %r" % (e,))

import builtins
import subprocess

_server, _candidate_file, _entry = sys.argv[1], sys.argv[2], sys.argv[3]
_spec = _json.loads(sys.stdin.buffer.read().decode("utf-8"))
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)

# Exceptions the candidate may make the checker raise: plain errors only. StopIteration and
# friends would end a loop in the tests early (a silent pass), SystemExit would end the run.
_SAFE = {
    n: getattr(builtins, n)
    for n in (
        "ArithmeticError AssertionError AttributeError BufferError EOFError FloatingPointError "
        "ImportError IndexError KeyError LookupError MemoryError ModuleNotFoundError NameError "
        "NotImplementedError OSError OverflowError RecursionError RuntimeError TypeError "
        "UnboundLocalError UnicodeError ValueError ZeroDivisionError"
    ).split()
}


class CandidateError(Exception):
    """The candidate raised an exception the checker does not re-raise as itself."""


class CandidateEnded(Exception):
    """The candidate's process ended (or broke the protocol) before answering."""


class UnsupportedReference(Exception):
    """The tests passed the candidate something that cannot cross the process boundary."""


_req_r, _req_w = os.pipe()
_resp_r, _resp_w = os.pipe()
_proc = subprocess.Popen(
    [sys.executable, "-I", "-B", _server, str(_req_r), str(_resp_w), _candidate_file, _entry],
    stdin=subprocess.DEVNULL,
    pass_fds=(_req_r, _resp_w),
    close_fds=True,
)
os.close(_req_r)
os.close(_resp_w)
_to = os.fdopen(_req_w, "w", encoding="utf-8")
_from = os.fdopen(_resp_r, "r", encoding="utf-8")


def _receive():
    line = _from.readline()
    if not line.endswith("\n"):
        raise CandidateEnded("the candidate's process ended before answering")
    try:
        msg = _json.loads(line)
    except ValueError:
        raise CandidateEnded("the candidate's process broke the harness protocol") from None
    if type(msg) is not dict:
        raise CandidateEnded("the candidate's process broke the harness protocol")
    return msg


def _raise_from(err):
    if type(err) is not list or len(err) != 2 or not all(type(e) is str for e in err):
        raise CandidateEnded("the candidate's process broke the harness protocol")
    name, text = err
    raise _SAFE.get(name, CandidateError)("%s: %s" % (name, text))


_called = False


def candidate(*args, **kwargs):
    global _called
    _called = True
    try:
        request = {"a": [_enc(a) for a in args], "k": [[k, _enc(v)] for k, v in kwargs.items()]}
    except _Unencodable as e:
        raise UnsupportedReference(str(e)) from None
    try:
        _send(_to, request)
    except OSError:
        raise CandidateEnded("the candidate's process ended before answering") from None
    msg = _receive()
    if "e" in msg:
        _raise_from(msg["e"])
    if "r" not in msg:
        raise CandidateEnded("the candidate's process broke the harness protocol")
    try:
        return _dec(msg["r"])
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise CandidateEnded("the candidate's process broke the harness protocol") from None


def _run():
    ready = _receive()
    if "load" in ready:
        name, text = ready["load"] if type(ready["load"]) is list else ("?", "?")
        sys.stderr.write("%s: %s\n" % (name, text))
        if name in ("SyntaxError", "IndentationError", "TabError"):
            return EXIT_SYNTAX
        if name == "MemoryError":
            return EXIT_MEMORY
        return EXIT_ERROR
    if ready.get("ready") is not True:
        raise CandidateEnded("the candidate's process broke the harness protocol")
    ns = {"__name__": "__xrpo_tests__", "__builtins__": builtins}
    try:
        prefix = compile(_spec["prefix"], "<prompt>", "exec")
    except SyntaxError:
        prefix = None  # a prompt that ends inside a definition: its helpers stay undefined
    try:
        tests = compile(_spec["tests"], "<tests>", "exec")
        if prefix is not None:
            exec(prefix, ns)
        ns[_entry] = candidate
        exec(tests, ns)
    except Exception as e:  # noqa: BLE001
        if _called:
            raise  # module-level tests that called the candidate: judge like `check`
        sys.stderr.write("the tests do not load: %s: %s\n" % (type(e).__name__, e))
        return EXIT_BAD_REFERENCE
    check = ns.get("check")
    if not callable(check):
        sys.stderr.write("the tests define no callable `check`\n")
        return EXIT_BAD_REFERENCE
    check(candidate)
    return EXIT_PASSED


def _main():
    import traceback

    try:
        status = _run()
    except UnsupportedReference as e:
        sys.stderr.write("unsupported test: %s\n" % e)
        status = EXIT_BAD_REFERENCE
    except CandidateEnded as e:
        sys.stderr.write("%s\n" % e)
        status = EXIT_ENDED
        try:
            # A server killed at its CPU-time limit is a timeout, not a wrong answer.
            if _proc.wait(timeout=2) in (-24, -9):
                status = EXIT_CPU if _proc.returncode == -24 else EXIT_ENDED
        except Exception:  # noqa: BLE001
            pass
    except AssertionError:
        traceback.print_exc()
        status = EXIT_FAILED
    except MemoryError:
        status = EXIT_MEMORY
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        status = EXIT_ERROR
    try:
        _proc.kill()
    except OSError:
        pass
    try:
        sys.stderr.flush()
    finally:
        os._exit(status)


_main()
