"""The Binder recipe builds: a fresh venv from `binder/requirements.txt` alone imports mezon_nb.

This is what repo2docker does (pip install -r binder/requirements.txt from the repository root),
minus the Docker image. Not covered: JupyterLab's start-up (tests/browser drives a real one).
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_binder_requirements_install_and_import(tmp_path):
    env_dir = tmp_path / "binder-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=840, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert install.returncode == 0, install.stderr[-3000:]
    probe = ("import mezon_nb, mezon_nb.client, mezon_nb.widgets, mezon_nb.analytics, jupyterlab;"
             "print(mezon_nb.__version__)")
    result = subprocess.run([str(python), "-c", probe], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == __import__("mezon_nb").__version__


def test_readme_badge_opens_the_quickstart_notebook():
    readme = (ROOT / "README.md").read_text()
    target = "urlpath=lab/tree/notebooks/01-quickstart.ipynb"
    assert target in readme
    assert (ROOT / "notebooks" / "01-quickstart.ipynb").is_file()
