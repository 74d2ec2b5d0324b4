"""A wheel of Hubstead works outside the source checkout: it carries KaTeX and renders math.

The wheel is built from a copy of the checkout (so no stale build/ folder can leak into it),
installed without its dependencies into a fresh virtualenv whose only other packages are this
environment's (through a .pth file: the runtime dependencies, never the checkout's editable
hubstead), and used from a temporary folder with no HUBSTEAD_* variable set. Needs Node.js, like
the rest of the rendering tests; starts no hub server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "src",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "package.json",
    "package-lock.json",
)

PROBE = r"""
import json, sys
import hubstead
from hubstead.rendering import math, render_card_html
html = render_card_html("# Card\n\nThe loss is $$x^2$$.\n", resolve_prefix="/a/b/resolve/main/", blob_prefix="/a/b/blob/main/")
dist = math.katex_dist()
from hubstead.web.views.upload import hash_wasm_script
print(json.dumps({"hubstead": hubstead.__file__, "html": html, "katex_dist": str(dist),
                  "css": (dist / "katex.min.css").is_file(), "fonts": len(list((dist / "fonts").glob("*.woff2"))),
                  "version": math.katex_version(), "hash_wasm": str(hash_wasm_script())}))
"""


def _pip_wheel(tree: Path, wheels: Path) -> list[str]:
    """`pip wheel` of the copied tree; with this environment's setuptools when it has one (fast,
    offline), else in pip's isolated build environment."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--wheel-dir",
        str(wheels),
        str(tree),
    ]
    if importlib.util.find_spec("setuptools") is not None:
        command.insert(4, "--no-build-isolation")
    return command


def _copy_checkout(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for package in ("katex", "hash-wasm"):
        shutil.copytree(
            ROOT / "node_modules" / package, target / "node_modules" / package, ignore=ignore
        )


def test_wheel_renders_math_outside_the_checkout(tmp_path: Path):
    tree, wheels, env_dir, elsewhere = (
        tmp_path / name for name in ("tree", "wheels", "venv", "elsewhere")
    )
    tree.mkdir()
    elsewhere.mkdir()
    _copy_checkout(tree)
    built = subprocess.run(
        _pip_wheel(tree, wheels), cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("hubstead-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hubstead/rendering/katex/katex.min.js" in names
    assert "hubstead/rendering/katex/katex.min.css" in names
    assert "hubstead/web/vendor/hash-wasm/sha256.umd.min.js" in names  # the upload page's hashing
    assert any(
        name.startswith("hubstead/rendering/katex/fonts/") and name.endswith(".woff2")
        for name in names
    )

    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # nothing of the caller's interpreter setup (PYTHONPATH pointing at a checkout) leaks in
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
        env=clean,
        capture_output=True,
    )
    # The runtime dependencies come from this environment; a path in a .pth file is appended to
    # sys.path after the venv's own site-packages, and .pth files found there (the checkout's
    # editable install) are not processed.
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_hubstead_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HUBSTEAD_", "PYTHON"))
    }
    probe = subprocess.run(
        [str(python), "-c", PROBE],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert Path(result["hubstead"]).is_relative_to(env_dir), "hubstead must come from the wheel"
    assert Path(result["katex_dist"]).is_relative_to(env_dir), (
        "KaTeX must come from the installed package"
    )
    assert Path(result["hash_wasm"]).is_relative_to(env_dir), "the upload page's script too"
    assert 'class="katex-display"' in result["html"] and "<annotation" in result["html"]
    assert "x^2</annotation>" in result["html"] and "$$" not in result["html"]
    assert result["css"] and result["fonts"] > 0
    package = json.loads((ROOT / "package.json").read_text())
    assert result["version"] == package["dependencies"]["katex"]

    command = subprocess.run(
        [str(env_dir / "bin" / "hubstead"), "--version"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert command.returncode == 0 and command.stdout.startswith("hubstead "), command.stderr


def test_wheel_build_without_katex_fails_loudly(tmp_path: Path):
    tree = tmp_path / "tree"
    tree.mkdir()
    _copy_checkout(tree)
    shutil.rmtree(tree / "node_modules")
    built = subprocess.run(
        _pip_wheel(tree, tmp_path / "wheels"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode != 0
    assert "KaTeX is missing" in built.stdout + built.stderr
    assert not list(tmp_path.glob("wheels/*.whl"))
