"""``Client`` and ``AsyncClient`` are method-for-method twins: same names, same order, same
signatures and return types (written out, so editors and type checkers see them), and the
blocking docstring is the async one rewritten.

Not covered: what the methods do (tests/client/).
"""

from __future__ import annotations

import inspect

from mezon_nb.facade.async_client import AsyncClient
from mezon_nb.facade.client import Client, _sync_doc

# Written differently on purpose: plain iterators with a total timeout instead of streams.
_DIFFERENT = {"events", "messages"}
_OWN_DOC = _DIFFERENT | {"close"}  # close() also stops a sandbox that connect() started


def _public(cls: type) -> list[str]:
    return [name for name, value in vars(cls).items()
            if not name.startswith("_") and (inspect.isfunction(value)
                                            or isinstance(value, property))]


def _without_self(fn) -> inspect.Signature:
    sig = inspect.signature(fn)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def test_every_async_method_has_a_blocking_twin_in_the_same_order():
    async_names = _public(AsyncClient)
    client_names = [n for n in _public(Client) if n in async_names]
    assert client_names == async_names


def test_twins_have_one_signature_and_return_type():
    for name in _public(AsyncClient):
        mine, theirs = getattr(Client, name), getattr(AsyncClient, name)
        if isinstance(theirs, property):
            assert isinstance(mine, property), name
            assert (inspect.signature(mine.fget).return_annotation
                    == inspect.signature(theirs.fget).return_annotation), name
        elif name not in _DIFFERENT:
            assert _without_self(mine) == _without_self(theirs), name


def test_blocking_docstrings_are_the_async_ones_rewritten():
    for name in _public(AsyncClient):
        if name in _OWN_DOC or isinstance(getattr(AsyncClient, name), property):
            continue
        assert getattr(Client, name).__doc__ == _sync_doc(getattr(AsyncClient, name).__doc__)


def test_typed_returns_name_real_classes():
    assert inspect.signature(Client.join_stream).return_annotation == "StreamSession"
    assert inspect.signature(Client.viewer).return_annotation == "StreamViewer"
    assert inspect.signature(Client.publish).return_annotation == "Publisher"
