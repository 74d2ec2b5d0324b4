"""Math rendering engines: the Node worker Hubstead uses against JavaScript engines embedded in Python.

The same KaTeX build (katex.min.js of the pinned package) and the same rendering code
(renderOne/handle of src/hubstead/rendering/katex_render.js) run in each engine over the same
200 formulas (mixed inline and display, each a little different so nothing is cached), in the
same process, one engine after the other, several rounds:

- start: a fresh engine until its first formula is rendered (Node: process start and `require`;
  embedded: creating the context and evaluating katex.min.js);
- card: the 200 formulas as one card (one request, as render_math sends them);
- formula: the 200 formulas one request each (per-request overhead: JSON + pipe for Node);
- the output of each engine is compared with Node's, formula by formula.

Embedded engines that are not installed are skipped (`pip install mini-racer quickjs dukpy`;
bench/run math installs them into .venv).

Usage: bench/run math [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hubstead.rendering import math as math_module

ROOT = Path(__file__).resolve().parent.parent
WORKER_JS = ROOT / "src" / "hubstead" / "rendering" / "katex_render.js"

TEMPLATES = [
    (r"\mathcal{L}_{{i}} = -\sum_{t=1}^{T} \log p_\theta(x_t \mid x_{<t})", True),
    (r"\mathrm{softmax}(z)_{{i}} = \frac{e^{z_{{i}}}}{\sum_j e^{z_j}}", True),
    (
        r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_{{i}}}}\right)V",
        True,
    ),
    (r"x^{{i}} + y^{{i}} = z^{{i}}", False),
    (r"\alpha_{{i}} \in [0, 1]", False),
    (
        r"\begin{pmatrix} a_{{i}} & b \\ c & d \end{pmatrix}^{-1} = \frac{1}{ad-bc}\begin{pmatrix} d & -b \\ -c & a_{{i}} \end{pmatrix}",
        True,
    ),
    (r"\int_0^{{i}} e^{-x^2}\,dx", False),
    (r"\begin{aligned} f(x) &= (x+{{i}})^2 \\ &= x^2 + 2\cdot{{i}}x + {{i}}^2 \end{aligned}", True),
    (r"\mathbb{E}_{x\sim p}\left[\lVert f(x) - y \rVert_2^2\right] \le {{i}}", True),
    (r"\theta_{t+1} = \theta_t - \eta \nabla_\theta \mathcal{L}(\theta_t) \quad (t={{i}})", True),
    (r"O(n^{{i}} \log n)", False),
    (r"\hat{y} = \sigma(W_{{i}} h + b)", False),
    (r"\mathrm{PPL} = \exp\Big(-\frac{1}{N}\sum_{i=1}^{N}\log p(w_i)\Big) \approx {{i}}.5", True),
    (r"\binom{n}{{{i}}} = \frac{n!}{{{i}}!\,(n-{{i}})!}", False),
    (
        r"\text{F1} = 2\cdot\frac{\text{precision}\cdot\text{recall}}{\text{precision}+\text{recall}} = 0.{{i}}",
        True,
    ),
    (r"\lim_{n\to\infty} \left(1 + \frac{1}{n}\right)^{n} = e", False),
    (r"\sqrt[{{i}}]{x^2 + \frac{a}{b}}", False),
    (r"\mathrm{KL}(P\,\|\,Q) = \sum_x P(x)\log\frac{P(x)}{Q(x)}", True),
    (r"\frac{\partial \mathcal{L}}{\partial w_{{i}}} = \delta_{{i}} \cdot a_{{i}-1}", False),
    (
        r"\mathbf{h}_t = \tanh(\mathbf{W}\mathbf{h}_{t-1} + \mathbf{U}\mathbf{x}_t)\;\; \#{{i}}",
        True,
    ),
]


def formulas(count: int = 200) -> list[tuple[str, bool]]:
    return [
        (tex.replace("{{i}}", str(n)), display)
        for n in range(count // len(TEMPLATES) + 1)
        for tex, display in TEMPLATES
    ][:count]


def handler_source() -> str:
    """BASE_OPTIONS, escapeHtml, renderOne and handle from the Node worker, verbatim."""
    source = WORKER_JS.read_text()
    start, end = source.index("const BASE_OPTIONS"), source.index("const input = readline")
    return (
        source[start:end]
        + "\nfunction renderBatch(json) { return JSON.stringify(handle(json)); }\n"
    )


def katex_source() -> str:
    return (ROOT / "node_modules" / "katex" / "dist" / "katex.min.js").read_text()


# --------------------------------------------------------------------------- engines
# Each factory returns render(items) -> list of HTML strings, for a fresh engine.


def node_engine() -> Callable[[list[tuple[str, bool]]], list[str]]:
    math_module.shutdown()
    return math_module.render_math


def mini_racer_engine() -> Callable[[list[tuple[str, bool]]], list[str]]:
    from py_mini_racer import MiniRacer

    context = MiniRacer()
    context.eval(katex_source())
    context.eval(handler_source())
    counter = iter(range(1, 1 << 62))

    def render(items):
        request = json.dumps({"id": next(counter), "items": [[t, d] for t, d in items]})
        return json.loads(context.call("renderBatch", request))["html"]

    return render


def quickjs_engine() -> Callable[[list[tuple[str, bool]]], list[str]]:
    import quickjs

    context = quickjs.Context()
    context.set_memory_limit(256 * 1024 * 1024)
    context.eval(katex_source())
    context.eval(handler_source())
    function = context.get("renderBatch")
    counter = iter(range(1, 1 << 62))

    def render(items):
        request = json.dumps({"id": next(counter), "items": [[t, d] for t, d in items]})
        return json.loads(function(request))["html"]

    return render


def dukpy_engine() -> Callable[[list[tuple[str, bool]]], list[str]]:
    import dukpy

    interpreter = dukpy.JSInterpreter()
    interpreter.evaljs(katex_source())
    interpreter.evaljs(handler_source())
    counter = iter(range(1, 1 << 62))

    def render(items):
        request = json.dumps({"id": next(counter), "items": [[t, d] for t, d in items]})
        return json.loads(interpreter.evaljs("renderBatch(dukpy.request)", request=request))["html"]

    return render


ENGINES = {
    "Node worker (current)": node_engine,
    "V8 embedded (mini-racer)": mini_racer_engine,
    "QuickJS (quickjs)": quickjs_engine,
    "Duktape (dukpy)": dukpy_engine,
}


def measure(factory, items: list[tuple[str, bool]], rounds: int) -> dict:
    starts, cards, singles = [], [], []
    output: list[str] = []
    for _ in range(rounds):
        begin = time.perf_counter()
        render = factory()
        render([items[0]])
        starts.append((time.perf_counter() - begin) * 1000)
        render(items)  # warm
        begin = time.perf_counter()
        output = render(items)
        cards.append((time.perf_counter() - begin) * 1000)
        for item in items:
            begin = time.perf_counter()
            render([item])
            singles.append((time.perf_counter() - begin) * 1000)
    return {
        "start": statistics.median(starts),
        "card": statistics.median(cards),
        "single_p50": statistics.median(singles),
        "single_p95": sorted(singles)[int(0.95 * len(singles))],
        "output": output,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    items = formulas(args.count)
    results: dict[str, dict] = {}
    for name, factory in ENGINES.items():
        try:
            results[name] = measure(factory, items, args.rounds)
        except ImportError as error:
            print(f"skipped {name}: {error}", file=sys.stderr)
        except Exception as error:  # noqa: BLE001 - an engine that cannot run KaTeX is a result too
            results[name] = {"error": f"{type(error).__name__}: {str(error)[:120]}"}
    math_module.shutdown()
    reference = results["Node worker (current)"]
    displays = sum(1 for _, d in items if d)
    print(
        f"\n{len(items)} formulas ({displays} display, {len(items) - displays} inline), KaTeX "
        f"{math_module.katex_version()}, median of {args.rounds} rounds\n"
    )
    math_module.shutdown()
    print(
        "| engine | start (ms) | card of 200 (ms) | per formula in the card (ms) | one formula per request p50 / p95 (ms) "
        "| card time / Node's | same HTML as Node |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        if "error" in result:
            print(f"| {name} | cannot run KaTeX: {result['error']} | | | | | |")
            continue
        same = sum(a == b for a, b in zip(result["output"], reference["output"]))
        print(
            f"| {name} | {result['start']:.1f} | {result['card']:.1f} | {result['card'] / len(items):.3f} "
            f"| {result['single_p50']:.3f} / {result['single_p95']:.3f} | {result['card'] / reference['card']:.2f} "
            f"| {same}/{len(items)} |"
        )


if __name__ == "__main__":
    main()
