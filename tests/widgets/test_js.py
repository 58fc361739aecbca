"""Each widget ES module parses as an ES module (``node --check`` on an ``.mjs`` copy), and
the constants the kernel's rules count on say what the kernel assumes.

Not covered: running the modules (that needs a browser and a widget manager).
"""

import pathlib
import re
import shutil
import subprocess

import pytest

from mezon_nb.widgets.flow import ACK_DELAY_S

STATIC = pathlib.Path(__file__).parents[2] / "mezon_nb" / "widgets" / "static"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_es_module_syntax(name, tmp_path):
    copy = tmp_path / (pathlib.Path(name).stem + ".mjs")
    shutil.copy(STATIC / name, copy)
    result = subprocess.run(["node", "--check", str(copy)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_every_widget_module_exports_render():
    for path in STATIC.glob("*.js"):
        text = path.read_text()
        assert "export default" in text and "render(" in text, path.name


def test_the_viewer_holds_its_acks_as_long_as_the_flow_rules_assume():
    text = (STATIC / "viewer.js").read_text()
    found = re.search(r"^const ACK_DELAY_MS = (\d+);$", text, re.MULTILINE)
    assert found is not None and int(found.group(1)) == ACK_DELAY_S * 1000
