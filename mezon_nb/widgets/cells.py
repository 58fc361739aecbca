"""The notebook cell lifecycle, as the widgets need it: is a cell running, and which cell made
which widget.

* :func:`kernel_busy` is true while a cell executes (IPython's ``pre_run_cell`` to
  ``post_run_cell``; not ``pre_execute``, which a comm message's handler fires too): the frame
  pump then paces frames instead of waiting for acks that cannot arrive (see :mod:`.flow`).
* :func:`cell_changes` counts cell starts and ends: an ack that crossed one may have waited in
  the shell queue behind a cell, so its round trip says nothing of the link.
* :func:`adopt` ties a widget to the cell being run; when that cell runs again its previous
  widgets are closed (their outputs are gone and the name now points at the new widget), so
  re-running ``viewer = client.viewer(channel)`` leaves one live stream, not two.

* :func:`install` also warns once (a ``RuntimeWarning``) when the kernel is an ipykernel that
  can stop answering (:func:`kernel_warning`): a widget that streams sends it many messages.

Outside IPython (scripts, tests) nothing is tracked and :func:`kernel_busy` is False.

>>> kernel_busy()
False
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
import weakref
from typing import Any, ClassVar

log = logging.getLogger(__name__)

#: ipykernel versions (from, before) whose shell channel can leave a request unread: they send
#: each reply straight on the shell socket, which takes the socket's edge-triggered read event,
#: so a request arriving at that moment is never read and the kernel stops answering (cells stay
#: queued, comm messages unread). Fixed in 7.4, which needs Python 3.11.
WEDGING_IPYKERNEL = ((7, 0), (7, 4))


class _Cells:
    busy = False
    changes = 0                              # cell starts and ends in this process
    current: str | None = None               # cell_id of the cell being run, if the UI sent one
    owned: ClassVar[dict[str, list]] = {}     # cell_id -> weak references to closable widgets
    installed = False
    lock = threading.Lock()


def install() -> None:
    """Register the IPython event hooks once per process (a no-op outside IPython).

    >>> install()
    """
    with _Cells.lock:
        if _Cells.installed:
            return
        _Cells.installed = True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", pre_run_cell)
        shell.events.register("post_run_cell", post_run_cell)
        try:
            import ipykernel
        except ImportError:     # a terminal IPython: no kernel
            return
        warning = kernel_warning(getattr(ipykernel, "__version__", ""))
        if warning:     # a warning, not a log record: the notebook shows it under the cell
            warnings.warn(warning, RuntimeWarning, stacklevel=3)


def kernel_warning(version: str) -> str | None:
    """What to tell the user of ipykernel ``version`` (None: nothing).

    >>> kernel_warning("7.4.0") is None and kernel_warning("6.31.0") is None
    True
    >>> print(kernel_warning("7.3.0"))
    ipykernel 7.3.0 can stop answering while a widget streams (a reply sent on the shell \
socket can leave the next request unread; fixed in 7.4): install ipykernel>=7.4 (Python 3.11 \
or newer), or ipykernel<7
    """
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    low, high = WEDGING_IPYKERNEL
    if len(parts) < 2 or not low <= parts < high:
        return None
    return (f"ipykernel {version} can stop answering while a widget streams (a reply sent on "
            f"the shell socket can leave the next request unread; fixed in 7.4): install "
            f"ipykernel>=7.4 (Python 3.11 or newer), or ipykernel<7")


def kernel_busy() -> bool:
    """True while an IPython cell is executing in this process.

    >>> kernel_busy()
    False
    """
    return _Cells.busy


def cell_changes() -> int:
    """How many times a cell started or finished executing in this process.

    >>> import types
    >>> before = cell_changes()
    >>> pre_run_cell(types.SimpleNamespace(cell_id=None)); post_run_cell(None)
    >>> cell_changes() - before
    2
    """
    return _Cells.changes


def adopt(widget: Any) -> None:
    """Close ``widget`` (anything with ``close()``) when the cell now running runs again.

    >>> adopt(object())        # outside a cell: nothing happens
    """
    install()
    cell = _Cells.current or _cell_of_current_request()
    if cell is not None:
        with _Cells.lock:
            _Cells.owned.setdefault(cell, []).append(weakref.ref(widget))


def _cell_of_current_request() -> str | None:
    """The ``cellId`` a notebook UI put in the running execute_request (hooks installed
    mid-cell missed that cell's ``pre_run_cell``)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return None
    parent = kernel.get_parent()
    if parent.get("header", {}).get("msg_type") != "execute_request":
        return None
    return parent.get("metadata", {}).get("cellId")


def pre_run_cell(info: Any) -> None:
    """IPython hook: a cell starts; close what its previous run made.

    >>> import types
    >>> pre_run_cell(types.SimpleNamespace(cell_id=None)); kernel_busy()
    True
    >>> post_run_cell(None)
    """
    cell = getattr(info, "cell_id", None)
    _Cells.current, _Cells.busy = cell, True
    _Cells.changes += 1
    if cell is None:
        return
    with _Cells.lock:
        previous = _Cells.owned.pop(cell, [])
    for ref in previous:
        widget = ref()
        if widget is not None:
            try:
                widget.close()
            except Exception:  # closing a stale widget must not break the user's cell
                log.exception("could not close %r from the previous run of its cell", widget)


def post_run_cell(result: Any) -> None:
    """IPython hook: a cell finished (or failed).

    >>> post_run_cell(None); kernel_busy()
    False
    """
    _Cells.current, _Cells.busy = None, False
    _Cells.changes += 1


__all__ = ["adopt", "cell_changes", "install", "kernel_busy", "post_run_cell",
           "pre_run_cell"]
