"""The one build step pyproject.toml cannot express: a wheel carries KaTeX (and hash-wasm).

Math in model cards is rendered by KaTeX on the server, and the web page loads KaTeX's stylesheet
and fonts from the hub, so an installed Hubstead needs KaTeX's dist files wherever it runs.
`build_py` copies them from node_modules/katex (installed by `npm ci`, as the scripts do) into the
package, as hubstead/rendering/katex/{katex.min.js, katex.min.css, fonts/, LICENSE}; without
node_modules the build fails rather than produce a wheel that cannot render math. An editable
install (`pip install -e`, what the scripts use) copies nothing: it finds node_modules in the
checkout, whether or not it exists yet when the install runs.

The upload page hashes files in the browser with hash-wasm's SHA-256 script, which the hub serves:
`build_py` copies it (and its LICENSE) from node_modules/hash-wasm/dist into hubstead/web/vendor/hash-wasm.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
KATEX = ROOT / "node_modules" / "katex"
KATEX_FILES = ("katex.min.js", "katex.min.css")
HASH_WASM = ROOT / "node_modules" / "hash-wasm"
HASH_WASM_FILES = ("sha256.umd.min.js",)


def copy_katex(target: Path) -> None:
    dist = KATEX / "dist"
    missing = [name for name in (*KATEX_FILES, "fonts") if not (dist / name).exists()]
    if missing:
        raise SetupError(
            f"KaTeX is missing from {dist} ({', '.join(missing)}): a wheel of Hubstead carries KaTeX, so run "
            "`npm ci` in the checkout first (or source scripts/lib/node.sh and call ensure_node_assets)"
        )
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["katex"]
    installed = json.loads((KATEX / "package.json").read_text())["version"]
    if installed != pinned:
        raise SetupError(f"node_modules has katex {installed}, package.json pins {pinned}: run `npm ci`")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in KATEX_FILES:
        shutil.copy2(dist / name, target / name)
    shutil.copytree(dist / "fonts", target / "fonts")
    shutil.copy2(KATEX / "LICENSE", target / "LICENSE")


def copy_hash_wasm(target: Path) -> None:
    dist = HASH_WASM / "dist"
    missing = [name for name in HASH_WASM_FILES if not (dist / name).is_file()]
    if missing:
        raise SetupError(
            f"hash-wasm is missing from {dist} ({', '.join(missing)}): a wheel of Hubstead carries it, so run "
            "`npm ci` in the checkout first (or source scripts/lib/node.sh and call ensure_node_assets)"
        )
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["hash-wasm"]
    installed = json.loads((HASH_WASM / "package.json").read_text())["version"]
    if installed != pinned:
        raise SetupError(
            f"node_modules has hash-wasm {installed}, package.json pins {pinned}: run `npm ci`"
        )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in HASH_WASM_FILES:
        shutil.copy2(dist / name, target / name)
    shutil.copy2(HASH_WASM / "LICENSE", target / "LICENSE")


class BuildPyWithKatex(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            copy_katex(Path(self.build_lib) / "hubstead" / "rendering" / "katex")
            copy_hash_wasm(Path(self.build_lib) / "hubstead" / "web" / "vendor" / "hash-wasm")


setup(cmdclass={"build_py": BuildPyWithKatex})
