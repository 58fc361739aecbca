"""The facade: `mezon_nb.__all__` matches what the package really exports, sorted, importable.

Not covered: the behaviour behind each name (each layer's own tests).
"""

from __future__ import annotations

import inspect

import mezon_nb


def test_all_is_sorted_and_unique():
    assert list(mezon_nb.__all__) == sorted(set(mezon_nb.__all__))


def test_every_public_name_resolves():
    for name in mezon_nb.__all__:
        assert getattr(mezon_nb, name) is not None, name


def test_dir_lists_the_public_names():
    assert set(mezon_nb.__all__) <= set(dir(mezon_nb))


def test_every_public_name_has_a_docstring_with_an_example():
    for name in mezon_nb.__all__:
        obj = getattr(mezon_nb, name)
        doc = inspect.getdoc(obj) or ""
        assert ">>>" in doc, f"mezon_nb.{name} has no runnable example in its docstring"


def test_unknown_attribute_is_an_attribute_error():
    try:
        mezon_nb.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
