"""The committed SDK bundle is exactly what the pinned lockfile builds (reproducible build)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
import shutil
import subprocess

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "frontend_src"
FRONTEND = ROOT / "custom_components" / "zego_digital_human" / "frontend"


def test_lockfile_pins_exact_versions() -> None:
    """package.json pins exact versions, and the lockfile resolves exactly those."""
    package = json.loads((SOURCE / "package.json").read_text())
    lock = json.loads((SOURCE / "package-lock.json").read_text())
    wanted = {**package["dependencies"], **package["devDependencies"]}
    assert wanted == {"zego-express-engine-webrtc": "3.12.0", "esbuild": "0.28.2"}
    for name, version in wanted.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")


def test_rebuild_gives_the_committed_bytes(tmp_path: Path) -> None:
    """Bundling again from the installed lockfile gives byte-identical output and notices."""
    node = shutil.which("node")
    if node is None or not (SOURCE / "node_modules" / "esbuild").is_dir():
        pytest.skip("needs node and `npm ci` in frontend_src (scripts/build_card does both)")
    subprocess.run(  # noqa: S603 - our own build script
        [node, str(SOURCE / "build.mjs")],
        env={"PATH": str(Path(node).parent), "ZEGO_CARD_OUT": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    for name in ("zego-sdk.js", "zego-sdk.LICENSES.txt"):
        built = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        committed = hashlib.sha256((FRONTEND / name).read_bytes()).hexdigest()
        assert built == committed, f"{name} differs from a rebuild: run scripts/build_card"
    # The .gz carries no time and no name: the same input always gives the same file.
    packed = (FRONTEND / "zego-sdk.js.gz").read_bytes()
    assert packed[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    assert gzip.decompress(packed) == (tmp_path / "zego-sdk.js").read_bytes()
