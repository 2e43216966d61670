"""Every docstring example of the package runs (doctest)."""

import doctest
import inspect

import pytest

import xrpo
import xrpo._xrpo as native


def _objects():
    seen = []
    for mod in (xrpo, native):
        if mod.__doc__ and ">>>" in mod.__doc__:
            seen.append(mod)
        for name in dir(mod):
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isroutine(obj) or callable(obj):
                if getattr(obj, "__doc__", None) and ">>>" in obj.__doc__:
                    seen.append(obj)
                if inspect.isclass(obj):
                    for m in vars(obj).values():
                        doc = getattr(m, "__doc__", None)
                        if doc and ">>>" in doc:
                            seen.append(m)
    return seen


@pytest.mark.parametrize("obj", _objects(), ids=lambda o: getattr(o, "__qualname__", getattr(o, "__name__", "?")))
def test_docstring_examples_run(obj):
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(obj, name=getattr(obj, "__qualname__", "obj"), globs={"np": __import__("numpy")})
    assert tests, "no doctest found"
    ran = 0
    for t in tests:
        r = runner.run(t)
        assert r.failed == 0, f"doctest failed in {t.name}"
        ran += r.attempted
    assert ran > 0


def test_every_public_name_has_an_example():
    for name in xrpo.__all__:
        obj = getattr(xrpo, name)
        if name in ("InternalError", "VerificationError"):
            continue
        assert obj.__doc__ and ">>>" in obj.__doc__, f"xrpo.{name} has no runnable example"
