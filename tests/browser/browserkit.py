"""Helpers for the browser tier: Debian Chromium under Playwright, a loopback page server, a
JupyterLab / Notebook 7 server with a token of our own, screenshots and pixel differences.

Everything listens on 127.0.0.1 only; every wait is bounded; every process started here is
stopped by the fixture that started it (process groups and descendants included). Used by
``tests/browser`` and ``benchmarks/browser.py``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"
#: Screenshots and logs of failed runs: outside the checkout (the suite leaves nothing in it).
ARTIFACTS = Path(os.environ.get("MEZON_NB_ARTIFACTS")
                 or Path(tempfile.gettempdir()) / f"mezon_nb-browser-artifacts-{os.getuid()}")
CHROMIUM = os.environ.get("MEZON_NB_CHROMIUM", "/usr/bin/chromium")

#: Flags for every Chromium we start: headless, no network but loopback, fresh profile (Playwright
#: gives each launch a new temporary --user-data-dir). mDNS hiding of host candidates is off so
#: ICE candidates are plain addresses of this machine (aioice would otherwise try multicast DNS).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
    "--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
    # a hidden/occluded headless page must keep painting at full rate
    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
FAKE_MEDIA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def require_chromium() -> str:
    """The Chromium executable, or an error that says how to install it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh` "
                           f"(make test does) or set MEZON_NB_CHROMIUM")
    return CHROMIUM


def launch(playwright: Any, *, fake_media: bool = False, extra: list[str] | None = None) -> Any:
    """A headless Debian Chromium driven by Playwright (its own download is not used)."""
    args = CHROMIUM_FLAGS + (FAKE_MEDIA_FLAGS if fake_media else []) + (extra or [])
    return playwright.chromium.launch(executable_path=require_chromium(), headless=True,
                                      args=args, timeout=60_000)


# -- a loopback static server for our test pages -------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class PageServer:
    """Serves ``directory`` on 127.0.0.1 (a free port) from a daemon thread; ``stop()`` ends it."""

    def __init__(self, directory: Path = PAGES) -> None:
        handler = functools.partial(_Quiet, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="browser-test-pages")
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


# -- processes -----------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (seconds), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kill(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_process_tree(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM ``process`` (its own process group) and wait; then SIGKILL it and every process it
    had started (kernels run in their own sessions, so the group alone is not enough)."""
    if process.poll() is not None:
        return
    below = descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{p}").exists() for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill([p for p in below if Path(f"/proc/{p}").exists()], signal.SIGKILL)


# -- Jupyter --------------------------------------------------------------------------------------

#: IPython start-up file of the test kernels: SIGUSR1 writes every thread's stack to a file in
#: the server's private home (``JupyterServer.kernel_stacks()``), for failure reports.
_STACKS_STARTUP = """\
import faulthandler as _fh, os as _os, signal as _signal
_fh.register(_signal.SIGUSR1, all_threads=True, file=open(
    _os.path.join(_os.environ["MEZON_NB_KERNEL_STACKS"], f"{_os.getpid()}.txt"), "w"))
"""


def _quiet_settings(settings: Path) -> None:
    """User settings for a test JupyterLab: no news toast, no update checks."""
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


class JupyterServer:
    """A JupyterLab server (with Notebook 7's pages too) on 127.0.0.1 over ``root``.

    The token is made here, handed over in the environment, and only typed into the login
    form; it is never printed or put in a URL. Settings, workspaces, runtime and IPython dirs
    are private temp dirs; news and update checks are off. ``stop()`` shuts kernels down
    through the REST API, then ends the server and everything it started.
    """

    def __init__(self, root: Path, *, log_path: Path | None = None,
                 timeout: float = 90.0) -> None:
        self.root = root
        self.token = secrets.token_hex(24)
        self._home = Path(tempfile.mkdtemp(prefix="mezon-nb-jupyter-"))
        runtime = self._home / "runtime"
        env = dict(os.environ)
        env.update({
            "JUPYTER_TOKEN": self.token,
            "JUPYTER_CONFIG_DIR": str(self._home / "config"),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTERLAB_SETTINGS_DIR": str(self._home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self._home / "workspaces"),
            "IPYTHONDIR": str(self._home / "ipython"),
            "PYTHONFAULTHANDLER": "1",  # a kernel that crashes in native code says where
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        })
        env.pop("JUPYTER_NO_CONFIG", None)
        _quiet_settings(self._home / "settings")
        self._stacks = self._home / "stacks"
        self._stacks.mkdir()
        env["MEZON_NB_KERNEL_STACKS"] = str(self._stacks)
        startup = self._home / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-stacks.py").write_text(_STACKS_STARTUP)
        args = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
        ]
        if os.geteuid() == 0:  # CI and the dev machines run as root
            args.append("--allow-root")
        self._log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, env=env, cwd=str(root), stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self.url = self._wait_for_url(runtime, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_for_url(self, runtime: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        info = runtime / f"jpserver-{self.process.pid}.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited with code {self.process.returncode}")
            if info.exists():
                try:
                    port = json.loads(info.read_text())["port"]
                except (ValueError, KeyError):
                    port = None
                if port:
                    url = f"http://127.0.0.1:{port}"
                    with contextlib.suppress(OSError):
                        self.api("GET", "/api/status", base=url)
                        return url
            time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not come up within {timeout:g} s")

    def api(self, method: str, path: str, body: Any = None, *, base: str | None = None) -> Any:
        """One REST call with the token in the Authorization header."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request((base or self.url) + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def login(self, page: Any, url: str | None = None) -> None:
        """Log ``page``'s browser context in through the login form (a cookie, no token in URLs);
        ``url``: reach the server there instead (a link shaper in front of it)."""
        page.goto((url or self.url) + "/login", wait_until="domcontentloaded")
        page.locator("#password_input").fill(self.token)
        page.locator("#password_input").press("Enter")
        page.wait_for_load_state("domcontentloaded")

    def kernel_pids(self) -> list[int]:
        """Kernel processes (python -m ipykernel_launcher) started by this server."""
        pids = []
        for pid in descendants(self.process.pid):
            with contextlib.suppress(OSError):
                if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return pids

    def kernel_stacks(self, wait: float = 2.0) -> str:
        """Every thread's stack in each kernel now (SIGUSR1 to each, then what they wrote):
        for the report of a test whose kernel stopped answering."""
        pids = self.kernel_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
        time.sleep(wait)
        return "\n".join(f"== kernel {pid}\n" + (self._stacks / f"{pid}.txt").read_text(
            errors="replace") for pid in pids if (self._stacks / f"{pid}.txt").exists())

    def stop(self) -> None:
        """Shut the kernels down, stop the server and all it started; idempotent."""
        if self.process.poll() is None and getattr(self, "url", None):
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                for kernel in self.api("GET", "/api/kernels"):
                    with contextlib.suppress(OSError, urllib.error.URLError):
                        self.api("DELETE", f"/api/kernels/{kernel['id']}")
        stop_process_tree(self.process)
        self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)


# -- pictures ----------------------------------------------------------------------------------

def code_notebook(cells: list[str]) -> dict:
    """An nbformat 4.5 notebook of code ``cells`` (no outputs), for the Python 3 kernel."""
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                       "metadata": {}, "outputs": [], "source": src}
                      for i, src in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                        "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def png_array(png: bytes) -> np.ndarray:
    """A PNG (a Playwright screenshot) as an H x W x 3 uint8 array."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def pixel_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-size pictures, 0..255."""
    if a.shape != b.shape:
        return 255.0
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def save(path_name: str, png: bytes) -> Path:
    """Keep a screenshot in ``ARTIFACTS`` ($MEZON_NB_ARTIFACTS, default a folder in the temp
    dir, never the checkout)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / path_name
    path.write_bytes(png)
    return path


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- driving a notebook in JupyterLab or Notebook 7 --------------------------------------------

_DONE = re.compile(r"\[\d+\]")


def answer_kernel_picker(page: Any, kernel: str = "Python 3") -> str | None:
    """If JupyterLab's "Select Kernel" dialog is open, pick the kernel whose name starts with
    ``kernel`` (else the one it proposes) and press Select, as a person would; returns the
    kernel picked, or ``None`` when no such dialog is open.

    JupyterLab asks when it cannot start the notebook's kernel by itself: a notebook for a kernel
    this server does not have, or a slow link where the kernel list arrived after the notebook opened.
    """
    dialog = page.locator(".jp-Dialog").filter(
        has=page.locator(".jp-Dialog-header", has_text="Select Kernel"))
    if not dialog.count():
        return None
    select = dialog.locator("select").first
    labels = [label.strip() for label in select.locator("option").all_text_contents()]
    choice = next((label for label in labels if label.startswith(kernel)), None)
    if choice is not None:
        select.select_option(label=choice)
    picked = choice or select.evaluate("s => s.options[s.selectedIndex]?.text ?? ''")
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached", timeout=30_000)
    return picked


class NotebookUI:
    """One notebook open in ``ui`` ("lab" or "notebook"), driven as a person would: menus,
    clicks and Shift+Enter. Cells are addressed by their index in the .ipynb file. ``url``:
    reach the server there instead (a link shaper in front of it). A kernel picker shown while
    the notebook opens is answered (``kernel_picked`` says with what)."""

    def __init__(self, page: Any, server: JupyterServer, path: str, ui: str = "lab",
                 url: str | None = None, timeout: float = 60.0) -> None:
        self.page, self.ui = page, ui
        self.kernel_picked: str | None = None
        # lab: ?reset starts from an empty workspace, so the tabs of an earlier page of this
        # server (another notebook, whose cells would come first in the DOM) are not restored
        route, query = ("/lab/tree/", "?reset") if ui == "lab" else ("/notebooks/", "")
        page.goto((url or server.url) + route + path + query, wait_until="domcontentloaded")
        self.cells = page.locator(".jp-Notebook .jp-Cell")
        # The kernel is up once the server has a session with a kernel for this notebook and
        # the toolbar says idle (the toolbar alone says idle before any kernel was chosen).
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                            ".jp-ExecutionIndicator[data-status='idle']")

        def has_kernel() -> bool:
            try:
                sessions = server.api("GET", "/api/sessions")
            except (OSError, ValueError):
                return False
            return any(s.get("path") == path and s.get("kernel") for s in sessions)

        def ready() -> bool:
            self.kernel_picked = answer_kernel_picker(page) or self.kernel_picked
            return bool(self.cells.count() and idle.count() and has_kernel())

        if not wait_for(ready, timeout, 0.25):
            raise AssertionError(f"the notebook's kernel was not idle within {timeout:g} s "
                                 f"(dialogs: {self.dialogs()!r})")

    def cell(self, index: int) -> Any:
        return self.cells.nth(index)

    def prompt(self, index: int) -> str:
        """The cell's input prompt: ``[ ]:``, ``[*]:`` or ``[7]:`` (DOM text, even off screen)."""
        return (self.cell(index).locator(".jp-InputPrompt").text_content() or "").strip()

    def select(self, index: int) -> None:
        """Make cell ``index`` the active cell, in command mode."""
        from playwright.sync_api import Error

        prompt = self.cell(index).locator(".jp-InputPrompt")
        for attempt in range(3):
            try:
                prompt.click(timeout=10_000)  # scrolls it into view first
                break
            except Error as exc:  # re-rendered under the pointer (outputs arriving): again
                if attempt == 2:
                    dialogs = self.page.locator(".jp-Dialog").all_text_contents()
                    raise AssertionError(f"cannot select cell {index}"
                                         f"{'; a dialog says ' + repr(dialogs) if dialogs else ''}"
                                         ) from exc
                time.sleep(0.5)
        self.page.keyboard.press("Escape")

    def menu(self, top: str, item: str) -> None:
        """Click ``item`` in the menu bar's ``top`` menu (Run, Kernel, …)."""
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{top}$")).click()
        self.page.locator(".lm-Menu-item:visible", has_text=re.compile(f"^{item}")).first.click()

    def start(self, index: int) -> None:
        """Press Shift+Enter on cell ``index`` and return once it is queued or running.

        A run asked for while the notebook's kernel connection is still being set up is
        dropped without a trace (the prompt stays ``[ ]``): then it is asked again."""
        before = self.prompt(index)
        for _attempt in range(3):
            self.select(index)
            self.page.keyboard.press("Shift+Enter")
            if wait_for(lambda: self.prompt(index) != before, 5, 0.05):
                return
        raise AssertionError(f"cell {index} does not start (prompt {self.prompt(index)!r})")

    def run(self, index: int, timeout: float = 60.0) -> str:
        """Run one cell (Shift+Enter) and wait until it finished; returns its output text."""
        self.start(index)
        self.wait_done(index, timeout)
        return self.output_text(index)

    def run_all_above(self, index: int, first: int) -> None:
        """Run menu → Run All Above Selected Cell, with ``index`` selected; returns once the
        first code cell ``first`` is queued (asked again if the run was dropped)."""
        for _attempt in range(3):
            self.select(index)
            self.menu("Run", "Run All Above Selected Cell")
            if wait_for(lambda: self.prompt(first) not in ("[ ]:", ""), 5, 0.05):
                return
        raise AssertionError("Run All Above Selected Cell does not start")

    def wait_done(self, index: int, timeout: float) -> None:
        """Wait until cell ``index`` shows an execution count (it ran, or finished running)."""
        def done() -> bool:
            return bool(_DONE.fullmatch(self.prompt(index).rstrip(":")))
        def done_or_dead() -> bool:
            return done() or bool(self.dialogs())

        wait_for(done_or_dead, timeout, 0.2)
        dialogs = self.dialogs()
        if dialogs:
            raise AssertionError(f"while cell {index} ran, a dialog says {dialogs!r} "
                                 f"(a dead kernel's stderr is in the jupyter log)")
        if not done():
            raise AssertionError(f"cell {index} did not finish within {timeout:g} s "
                                 f"(prompt {self.prompt(index)!r})")

    def dialogs(self) -> list[str]:
        """Text of the dialogs open now (JupyterLab's "Kernel Restarting", …)."""
        return [t.strip() for t in self.page.locator(".jp-Dialog").all_text_contents()]

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").text_content() or ""

    def errors(self) -> list[str]:
        """Text of every error or stderr output that reports an exception."""
        texts = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
        ).all_text_contents()
        return [t for t in texts if re.search(r"Traceback|Error|Exception", t)]
