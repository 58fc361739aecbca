"""Regenerate ``mezon_nb/protocol/*_pb2.py`` and ``*_pb2.pyi`` from our ``.proto`` subset.

Run ``make proto`` (needs the ``dev`` extra, which pins grpcio-tools so the output is stable).
``--check`` compares instead of writing and exits 1 when the committed files are stale.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "mezon_nb" / "protocol"
PROTOS = ["mezon_nb/protocol/api.proto", "mezon_nb/protocol/realtime.proto"]
OUTPUTS = ["api_pb2.py", "api_pb2.pyi", "realtime_pb2.py", "realtime_pb2.pyi"]


def generate(out_dir: Path) -> None:
    """Run protoc (from grpcio-tools) on our protos, writing into ``out_dir``."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{ROOT}", f"-I{well_known}",
            f"--python_out={out_dir}", f"--pyi_out={out_dir}", *PROTOS]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        built = Path(tmp) / "mezon_nb" / "protocol"
        stale = [name for name in OUTPUTS
                 if not (PROTO_DIR / name).exists()
                 or not filecmp.cmp(built / name, PROTO_DIR / name, shallow=False)]
        if check:
            for name in stale:
                print(f"stale: mezon_nb/protocol/{name} (run `make proto`)")
            return 1 if stale else 0
        for name in OUTPUTS:
            shutil.copyfile(built / name, PROTO_DIR / name)
        print("regenerated:", ", ".join(OUTPUTS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
