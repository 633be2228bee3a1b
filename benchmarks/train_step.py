#!/usr/bin/env python
"""Train-step benchmarks for Pathways (CPU-friendly; see benchmarks/README.md).

Three studies:

1. ``overhead``  A decoder LM composed from YAML, built with ``pathways.validate`` /
   ``pathways.build`` and stepped with ``pathways.train``'s ``make_loss_fn`` /
   ``make_optimizer`` / ``make_train_step``, timed against the same model and step
   written by hand in plain JAX + optax (own parameter pytree, dense layers on
   ``[B*T, D]`` operands, ``jax.jit`` with donation), in two pairs:
   configs/decoder_lm.yaml (``scan_layers: false``, layers unrolled) against the
   hand-written Python loop over layers (the headline), and
   configs/decoder_lm_scan.yaml (``scan_layers: true``) against a hand-written
   ``lax.scan`` over stacked layers. All four start from the same weights; the script
   checks that their first steps agree.
2. ``frozen``    The image+text model (configs/image_text_frozen.yaml, both layer stacks
   unrolled) trained three ways with ``trainable_spec`` + ``eqx.partition`` +
   ``make_train_step``: everything, only ``image`` (decoder frozen) and only the
   untied ``lm_head``. XLA FLOPs (``cost_analysis``) and interleaved wall time; the
   same three with the stacks scanned (configs/image_text_frozen_scan.yaml) as a
   diagnostic.
3. (with 2)     Optimizer-state bytes against trainable-parameter bytes for those three.

Timings interleave the implementations in one process (A, B, A, B, ... with the order
reversed every other round) and report the median of per-round ratios, which is robust
to a shared machine slowing down mid-run. Absolute times are printed for orientation only.

    python benchmarks/train_step.py            # full run (a few minutes on 2 cores)
    python benchmarks/train_step.py --quick    # smoke run (about two minutes on 2 busy cores)
    python benchmarks/train_step.py --json out.json --parts frozen   # parts 2 and 3 only
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

import pathways
from pathways.graph._batch import random_batch
from pathways.train import make_loss_fn, make_optimizer, make_train_step, trainable_spec

# Same strictness as the test suite: implicit rank promotion is an error (keeps the
# hand-written model honest about its broadcasts).
jax.config.update("jax_numpy_rank_promotion", "raise")
# A donated buffer that no output can reuse makes XLA warn when a step is lowered
# explicitly for cost_analysis. Harmless here.
warnings.filterwarnings("ignore", message="Some donated buffers were not usable")

HERE = Path(__file__).resolve().parent
DECODER_LM = HERE / "configs" / "decoder_lm.yaml"  # scan_layers: false (unrolled)
DECODER_LM_SCAN = HERE / "configs" / "decoder_lm_scan.yaml"  # the same, scan_layers: true
IMAGE_TEXT = HERE / "configs" / "image_text_frozen.yaml"  # both stacks unrolled
IMAGE_TEXT_SCAN = HERE / "configs" / "image_text_frozen_scan.yaml"  # both stacks scanned


# --------------------------------------------------------------------------- utilities


def machine_info() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jaxlib

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "equinox": eqx.__version__,
        "optax": optax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


def copy_arrays(tree):
    """Fresh buffers for every array leaf (train steps donate their inputs)."""
    return jax.tree.map(lambda x: jnp.array(x, copy=True) if eqx.is_array(x) else x, tree)


def tree_bytes(tree) -> int:
    return sum(x.nbytes for x in jax.tree.leaves(tree) if eqx.is_array(x))


def tree_params(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree) if eqx.is_inexact_array(x))


def compile_stats(lower, context=contextlib.nullcontext) -> dict:
    """Seconds to trace + lower and to compile `lower()`'s program, its XLA FLOPs and while loops."""
    t0 = time.perf_counter()
    with context():
        lowered = lower()
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    return {"trace_lower_s": t1 - t0, "compile_s": t2 - t1, "flops": compiled_flops(compiled),
            "while_loops": while_loops(compiled)}


def while_loops(compiled) -> int:
    """Number of `while` instructions in the optimised HLO (a scanned layer stack is one)."""
    compiled = getattr(compiled, "compiled", compiled)
    return sum(" while(" in line for line in compiled.as_text().splitlines())


def compiled_flops(compiled) -> float:
    """XLA's FLOP count (`cost_analysis()['flops']`) of a compiled program, after optimisation."""
    compiled = getattr(compiled, "compiled", compiled)  # equinox wraps jax.stages.Compiled
    ca = compiled.cost_analysis()
    if isinstance(ca, (list, tuple)):  # older jax returned one dict per device
        ca = ca[0]
    return float(ca["flops"])


def flops_of(lowered) -> float:
    return compiled_flops(lowered.compile())


@contextlib.contextmanager
def unrolled_scans():
    """Trace every `lax.scan` fully unrolled, whatever `unroll` its caller passes.

    XLA's cost analysis counts a while-loop body once, whatever its trip count, so
    the FLOPs of a scanned layer stack (pathways.nn.Stack with `scan=True`) are
    under-counted by the number of layers. Lowering the same step with the scans
    unrolled gives the true count; the program is otherwise identical. (`Stack`
    passes `unroll=` itself, so a `functools.partial` default would not do.)
    """
    original = jax.lax.scan

    @functools.wraps(original)
    def scan(*args, **kwargs):
        kwargs["unroll"] = True
        return original(*args, **kwargs)

    jax.lax.scan = scan
    try:
        yield
    finally:
        jax.lax.scan = original


def lower_step(step, *args):
    """Lower a step for cost analysis. `make_train_step` returns a plain function around its
    filter_jit (it regroups the arguments to donate only trainable and opt_state), so it is
    wrapped in one more filter_jit; the nested jit is inlined, the computation is the same."""
    if not hasattr(step, "lower"):
        step = eqx.filter_jit(step)
    return step.lower(*args)


class Runner:
    """A train step plus its evolving state; `run(k)` does k steps and blocks."""

    def __init__(self, name: str, step, state: tuple, const: tuple = (), batch=None, trace_context=contextlib.nullcontext):
        self.name, self.step, self.state, self.const, self.batch = name, step, state, const, batch
        self.trace_context = trace_context  # active during the first (tracing) call only
        self.last_metrics = None

    def args(self) -> tuple:
        """The step's arguments: the differentiated state first, then the constants, the rest of the state, the batch."""
        return (*self.state[:1], *self.const, *self.state[1:], self.batch)

    def lower(self):
        return lower_step(self.step, *self.args())

    def run(self, k: int) -> None:
        for _ in range(k):
            out = self.step(*self.args())
            self.state, self.last_metrics = tuple(out[:-1]), out[-1]
        jax.block_until_ready((self.state, self.last_metrics))


def interleave(runners: list[Runner], rounds: int, steps: int) -> dict[str, list[float]]:
    """Seconds per step of every runner in every round; order reversed on odd rounds."""
    times: dict[str, list[float]] = {r.name: [] for r in runners}
    for i in range(rounds):
        for r in runners if i % 2 == 0 else runners[::-1]:
            t0 = time.perf_counter()
            r.run(steps)
            times[r.name].append((time.perf_counter() - t0) / steps)
    return times


def ratio_stats(num: list[float], den: list[float]) -> dict:
    ratios = [a / b for a, b in zip(num, den)]
    q = np.percentile(ratios, [25, 50, 75])
    return {"median": float(q[1]), "p25": float(q[0]), "p75": float(q[2]), "rounds": len(ratios)}


def compile_and_warm(runner: Runner, warm_steps: int) -> float:
    t0 = time.perf_counter()
    with runner.trace_context():
        runner.run(1)
    first = time.perf_counter() - t0
    runner.run(warm_steps)
    return first


# ------------------------------------------------------- part 1: hand-written decoder LM
#
# Everything below up to `hand_train_step` is plain JAX + optax: no pathways code. The
# hyper-parameters are written out here and checked against the YAML's train section.

HAND = {
    "vocab": 4096,
    "width": 128,
    "depth": 4,
    "heads": 4,
    "head_dim": 32,
    "mlp": 512,
    "rope_base": 10_000.0,
    "eps": 1e-6,
    "lr": 1e-3,
    "b1": 0.9,
    "b2": 0.95,
    "adam_eps": 1e-8,
    "weight_decay": 0.01,
    "warmup": 10,
    "steps": 1000,
    "min_lr_ratio": 0.1,
    "grad_clip": 1.0,
}


def hand_rmsnorm(x, w, eps):
    """x [N, D] float32, Gemma scale (1 + w)."""
    var = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    return x * jax.lax.rsqrt(var + eps) * (1.0 + w)[None, :]


def hand_rope_tables(T, hd, base):
    half = hd // 2
    freq = base ** (-jnp.arange(half, dtype=jnp.float32) * 2.0 / hd)
    angle = jnp.arange(T, dtype=jnp.float32)[:, None] * freq[None, :]  # [T, hd/2]
    return jnp.sin(angle), jnp.cos(angle)


def hand_rope(x, sin, cos):
    """x [B, T, H, hd]; rotate halves (x[i], x[i + hd/2])."""
    half = x.shape[-1] // 2
    s, c = sin[None, :, None, :], cos[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def hand_layer(p, x, mask, sin, cos, B, T):
    """One Gemma block on x [B*T, D]: MQA attention with RoPE, then GeGLU."""
    H, hd, eps = HAND["heads"], HAND["head_dim"], HAND["eps"]
    h = hand_rmsnorm(x, p["attn_norm"], eps)
    q = hand_rope((h @ p["wq"]).reshape(B, T, H, hd), sin, cos)
    k = hand_rope((h @ p["wk"]).reshape(B, T, 1, hd), sin, cos)[:, :, 0]  # one kv head
    v = (h @ p["wv"]).reshape(B, T, hd)
    logits = jnp.einsum("bthd,bsd->bhts", q, k) * (1.0 / math.sqrt(hd))
    logits = jnp.where(mask[:, None, :, :], logits, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(logits, axis=-1)
    attn = jnp.einsum("bhts,bsd->bthd", probs, v).reshape(B * T, H * hd)
    x = x + attn @ p["wo"]
    h = hand_rmsnorm(x, p["mlp_norm"], eps)
    return x + (jax.nn.gelu(h @ p["w_gate"], approximate=True) * (h @ p["w_up"])) @ p["w_down"]


def hand_loss(params, tokens):
    B, T = tokens.shape
    D = params["embed"].shape[1]
    x = (jnp.take(params["embed"], tokens, axis=0) * math.sqrt(D)).reshape(B * T, D)
    valid = tokens != 0
    mask = jnp.tril(jnp.ones((T, T), dtype=bool))[None, :, :] & valid[:, None, :]  # [B, T, T]
    sin, cos = hand_rope_tables(T, HAND["head_dim"], HAND["rope_base"])
    for p in params["layers"]:  # unrolled: a Python loop over per-layer dicts
        x = hand_layer(p, x, mask, sin, cos, B, T)
    x = hand_rmsnorm(x, params["final_norm"], HAND["eps"])
    logits = (x @ params["head"]).reshape(B, T, -1)
    tgt = tokens[:, 1:]
    ce = optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], tgt)
    w = (tgt != 0).astype(jnp.float32)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)


def hand_loss_scanned(params, tokens):
    """The same model with its layers stacked and run by `lax.scan` (the pair of decoder_lm_scan.yaml)."""
    B, T = tokens.shape
    D = params["embed"].shape[1]
    x = (jnp.take(params["embed"], tokens, axis=0) * math.sqrt(D)).reshape(B * T, D)
    valid = tokens != 0
    mask = jnp.tril(jnp.ones((T, T), dtype=bool))[None, :, :] & valid[:, None, :]
    sin, cos = hand_rope_tables(T, HAND["head_dim"], HAND["rope_base"])
    x, _ = jax.lax.scan(lambda x, p: (hand_layer(p, x, mask, sin, cos, B, T), None), x, params["layers"])
    x = hand_rmsnorm(x, params["final_norm"], HAND["eps"])
    logits = (x @ params["head"]).reshape(B, T, -1)
    tgt = tokens[:, 1:]
    ce = optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], tgt)
    w = (tgt != 0).astype(jnp.float32)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)


def hand_optimizer(stacked: bool) -> optax.GradientTransformation:
    h = HAND
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, h["lr"], h["warmup"], max(h["steps"], h["warmup"] + 1), h["lr"] * h["min_lr_ratio"]
    )
    lead = 1 if stacked else 0  # stacked layer params carry a leading layer axis

    def decay(params):  # matrices only
        return {
            "embed": True,
            "head": True,
            "final_norm": False,
            "layers": jax.tree.map(lambda x: x.ndim - lead >= 2, params["layers"]),
        }

    return optax.chain(
        optax.clip_by_global_norm(h["grad_clip"]),
        optax.adamw(schedule, b1=h["b1"], b2=h["b2"], eps=h["adam_eps"], weight_decay=h["weight_decay"], mask=decay),
    )


def hand_train_step(loss, optimizer):
    def step(params, opt_state, tokens):
        value, grads = jax.value_and_grad(loss)(params, tokens)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return jax.jit(step, donate_argnums=(0, 1))


def hand_params_from(model, stacked: bool):
    """The composed model's weights in the hand-written pytree (fresh buffers)."""
    dec = model.pathways["decoder"]
    L = dec.blocks.layers
    layers = {
        "attn_norm": L.attn_norm.weight,
        "wq": L.attn.q_proj.weight,
        "wk": L.attn.k_proj.weight,
        "wv": L.attn.v_proj.weight,
        "wo": L.attn.o_proj.weight,
        "mlp_norm": L.mlp_norm.weight,
        "w_gate": L.mlp.gate_proj.weight,
        "w_up": L.mlp.up_proj.weight,
        "w_down": L.mlp.down_proj.weight,
    }
    if not stacked:
        layers = [{k: v[i] for k, v in layers.items()} for i in range(dec.blocks.num)]
    params = {
        "embed": model.pathways["text"].weight,
        "layers": layers,
        "final_norm": dec.final_norm.weight,
        "head": model.pathways["head"].weight,
    }
    return copy_arrays(params)


def check_hand_matches_yaml(graph, scan_layers: bool) -> None:
    t = graph.loaded.spec.train
    n = graph.nodes
    dec, head = n["decoder"].cfg, n["head"].cfg
    expected = {
        "vocab": n["text"].cfg.vocab_size,
        "width": dec.width,
        "depth": dec.depth,
        "heads": dec.heads,
        "head_dim": dec.head_dim,
        "mlp": dec.mlp_dim,
        "rope_base": dec.rope_base,
        "eps": dec.norm_eps,
        "lr": t.optimizer.lr,
        "b1": t.optimizer.b1,
        "b2": t.optimizer.b2,
        "adam_eps": t.optimizer.eps,
        "weight_decay": t.optimizer.weight_decay,
        "warmup": t.schedule.warmup_steps,
        "steps": t.steps,
        "min_lr_ratio": t.schedule.min_lr_ratio,
        "grad_clip": t.grad_clip,
    }
    name = Path(graph.loaded.path).name if getattr(graph.loaded, "path", None) else "the config"
    bad = {k: (HAND[k], v) for k, v in expected.items() if HAND[k] != v}
    assert not bad, f"hand-written hyper-parameters differ from {name}: {bad}"
    assert dec.kv_heads == 1 and not head.tied and t.optimizer.name == "adamw" and t.schedule.kind == "cosine"
    assert dec.scan_layers is scan_layers, f"{name}: expected decoder scan_layers: {str(scan_layers).lower()}"
    assert not dec.remat and dec.cross_attention_every is None


def composed_lm(graph, key):
    """Model, optimizer, initial state and jitted step exactly as pathways.train.prepare makes them."""
    model = pathways.build(graph, key)
    train = graph.loaded.spec.train
    optimizer = make_optimizer(train)
    spec = trainable_spec(model, train.trainable)
    return model, optimizer, spec, make_loss_fn(train.losses)


def same_arrays(a, b) -> bool:
    """Two models hold identical parameters (scan_layers changes how layers run, not what they hold)."""
    la, lb = jax.tree.leaves(eqx.filter(a, eqx.is_array)), jax.tree.leaves(eqx.filter(b, eqx.is_array))
    return len(la) == len(lb) and all(x.shape == y.shape and bool(jnp.array_equal(x, y)) for x, y in zip(la, lb))


# Part 1's four implementations: (composed from YAML, hand-written) for each layer-loop style.
PAIRS = {"unrolled": ("composed", "hand"), "scan": ("composed_scan", "hand_scan")}


def part_overhead(args) -> dict:
    key = jr.key(0)
    graphs = {"unrolled": pathways.validate(DECODER_LM), "scan": pathways.validate(DECODER_LM_SCAN)}
    check_hand_matches_yaml(graphs["unrolled"], scan_layers=False)
    check_hand_matches_yaml(graphs["scan"], scan_layers=True)
    built = {style: composed_lm(g, key) for style, g in graphs.items()}
    assert same_arrays(built["unrolled"][0], built["scan"][0]), "scan_layers changed the initial parameters"
    batch = random_batch(graphs["unrolled"], jr.fold_in(key, 1))
    tokens = batch["tokens"]
    model = built["unrolled"][0]

    def composed_runner(style):
        model, optimizer, spec, loss_fn = built[style]
        trainable, frozen = eqx.partition(copy_arrays(model), spec)
        opt_state = optimizer.init(eqx.filter(trainable, eqx.is_inexact_array))
        step = make_train_step(loss_fn, optimizer)
        return Runner(PAIRS[style][0], step, (trainable, opt_state), const=(frozen,), batch=batch)

    def hand_runner(style):
        stacked = style == "scan"
        params = hand_params_from(model, stacked)
        opt = hand_optimizer(stacked)
        step = hand_train_step(hand_loss_scanned if stacked else hand_loss, opt)
        return Runner(PAIRS[style][1], step, (params, opt.init(params)), batch=tokens)

    runners = [composed_runner("unrolled"), hand_runner("unrolled"), composed_runner("scan"), hand_runner("scan")]
    by_name = {r.name: r for r in runners}

    # Compile cost, XLA FLOPs and while loops of each program (fresh trace + lower + compile each).
    compile_stats(hand_runner("unrolled").lower)  # throwaway: first-compile-in-process costs
    stats = {r.name: compile_stats(r.lower) for r in runners}
    # XLA counts a while-loop body once: the scanned programs' true counts come from
    # lowering them with their scans unrolled (fresh steps: a jitted step caches its trace).
    true_flops = {}
    for style in PAIRS:
        for name, fresh in zip(PAIRS[style], (composed_runner, hand_runner)):
            if stats[name]["while_loops"]:
                true_flops[name] = compile_stats(fresh(style).lower, unrolled_scans)["flops"]
            else:
                true_flops[name] = stats[name]["flops"]

    # Same model: the first step's loss and updated weights agree across all four.
    for r in runners:
        compile_and_warm(r, 0)

    def after_step(name):
        r = by_name[name]
        if name.startswith("composed"):
            trainable = r.state[0]
            m = trainable.pathways
            wq0 = m["decoder"].blocks.layers.attn.q_proj.weight[0]
            return float(r.last_metrics["loss"]), m["head"].weight, wq0
        params = r.state[0]
        wq0 = params["layers"]["wq"][0] if name == "hand_scan" else params["layers"][0]["wq"]
        return float(r.last_metrics), params["head"], wq0

    ref = after_step("hand")
    parity = {"loss_hand": ref[0]}
    for name in ("composed", "composed_scan", "hand_scan"):
        loss, head, wq0 = after_step(name)
        parity[f"loss_{name}"] = loss
        parity[f"max_abs_diff_head_{name}_vs_hand"] = float(jnp.max(jnp.abs(head - ref[1])))
        parity[f"max_abs_diff_wq0_{name}_vs_hand"] = float(jnp.max(jnp.abs(wq0 - ref[2])))
        assert abs(loss - ref[0]) <= 1e-4 * max(1.0, abs(ref[0])), parity
    for r in runners:
        r.run(args.warmup)

    times = interleave(runners, args.rounds, args.steps)
    out = {
        "configs": {style: str(p.relative_to(HERE.parent)) for style, p in (("unrolled", DECODER_LM), ("scan", DECODER_LM_SCAN))},
        "head": "untied",
        "batch": list(tokens.shape),
        "params": tree_params(eqx.filter(model, eqx.is_inexact_array)),
        "parity": parity,
        "compile": stats,
        "flops": true_flops,
        "flops_as_reported": {k: v["flops"] for k, v in stats.items()},
        "flops_ratio": {style: true_flops[c] / true_flops[h] for style, (c, h) in PAIRS.items()},
        "median_step_s": {k: statistics.median(v) for k, v in times.items()},
        "ratio_composed_over_hand": ratio_stats(times["composed"], times["hand"]),
        "ratio_composed_scan_over_hand_scan": ratio_stats(times["composed_scan"], times["hand_scan"]),
        "ratio_composed_scan_over_composed": ratio_stats(times["composed_scan"], times["composed"]),
        "ratio_hand_scan_over_hand": ratio_stats(times["hand_scan"], times["hand"]),
        "target": 1.05,
    }
    if args.diagnose and not args.quick:
        out["compile_vs_depth"] = compile_vs_depth([4, 16])
    return out


def compile_vs_depth(depths: list[int], repeats: int = 2) -> dict:
    """Trace + lower + compile seconds of the composed step, scan_layers true vs false, by decoder depth."""
    import tempfile

    text = DECODER_LM.read_text()
    flag = ", scan_layers: false}"  # on the decoder's config line
    assert text.count("depth: 4") == 1 and text.count(flag) == 1
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for depth in depths:
            for name, scan in (("scan", "true"), ("unrolled", "false")):
                path = Path(tmp) / f"decoder_lm_depth{depth}_{name}.yaml"
                path.write_text(text.replace("depth: 4", f"depth: {depth}").replace(flag, f", scan_layers: {scan}}}"))
                graph = pathways.validate(path)
                model, optimizer, spec, loss_fn = composed_lm(graph, jr.key(0))
                batch = random_batch(graph, jr.key(1))
                trainable, frozen = eqx.partition(model, spec)
                opt_state = optimizer.init(eqx.filter(trainable, eqx.is_inexact_array))
                for _ in range(repeats):  # fresh step each time (no cache hits); keep the fastest
                    step = make_train_step(loss_fn, optimizer)
                    s = compile_stats(lambda: lower_step(step, trainable, frozen, opt_state, batch))
                    k = f"depth{depth}_{name}"
                    out[k] = min(out.get(k, math.inf), s["trace_lower_s"] + s["compile_s"])
    return out


# ------------------------------------------------- parts 2 and 3: frozen-pathway fine-tuning

VARIANTS = {"full": None, "image_only": ["image"], "head_only": ["lm_head"]}


def weight_grad_flops(model, names: list[str], n_rows: int) -> int:
    """2 * rows * d_in * d_out for every dense matrix of the named pathways (times stacked layers)."""
    total = 0
    for name in names:
        for leaf in jax.tree.leaves(eqx.filter(model.pathways[name], eqx.is_inexact_array)):
            if leaf.ndim >= 2:
                total += 2 * n_rows * math.prod(leaf.shape)
    return total


def part_frozen(args) -> tuple[dict, dict]:
    """Parts 2 and 3 on image_text_frozen.yaml (stacks unrolled); the scanned config as a diagnostic."""
    key = jr.key(0)
    graphs = {"": pathways.validate(IMAGE_TEXT), "_scan": pathways.validate(IMAGE_TEXT_SCAN)}
    for suffix, g in graphs.items():
        assert all(getattr(g.nodes[n].cfg, "scan_layers") is (suffix == "_scan") for n in ("image", "decoder")), suffix
    graph = graphs[""]
    train = graph.loaded.spec.train
    models = {suffix: pathways.build(g, key) for suffix, g in graphs.items()}
    assert same_arrays(models[""], models["_scan"]), "scan_layers changed the initial parameters"
    model = models[""]
    batch = random_batch(graph, jr.fold_in(key, 1))
    optimizer = make_optimizer(train)
    loss_fn = make_loss_fn(train.losses)
    B, S = graph.values["lm_head.logits"].shape[:2]

    styles = ["", "_scan"] if args.diagnose else [""]
    runners, flops, flops_reported, loops, opt_bytes = [], {}, {}, {}, {}
    for suffix in styles:
        for variant, trainable_names in VARIANTS.items():
            name = variant + suffix
            m = copy_arrays(models[suffix])
            spec = trainable_spec(m, trainable_names)
            trainable, frozen = eqx.partition(m, spec)
            params = eqx.filter(trainable, eqx.is_inexact_array)
            opt_state = optimizer.init(params)
            ob = {
                "trainable_params": tree_params(params),
                "trainable_param_bytes": tree_bytes(params),
                "opt_state_bytes": tree_bytes(opt_state),
            }
            ob["opt_over_param_bytes"] = ob["opt_state_bytes"] / ob["trainable_param_bytes"]
            if suffix:  # same parameters, same optimizer state
                assert ob == opt_bytes[variant], (name, ob, opt_bytes[variant])
            else:
                opt_bytes[variant] = ob
            step = make_train_step(loss_fn, optimizer)
            s = compile_stats(lambda: lower_step(step, trainable, frozen, opt_state, batch))
            flops_reported[name], loops[name] = s["flops"], s["while_loops"]
            # XLA counts a while-loop body once: count scanned programs with their scans unrolled.
            flops[name] = s["flops"] if not s["while_loops"] else compile_stats(
                lambda: lower_step(make_train_step(loss_fn, optimizer), trainable, frozen, opt_state, batch), unrolled_scans)["flops"]
            runners.append(Runner(name, step, (trainable, opt_state), const=(frozen,), batch=batch))

    # Forward only (the loss, no gradients): its FLOPs, and timed alongside as the floor
    # under any step (scanned too with the diagnostics).
    for suffix in styles:
        t_all, f_all = eqx.partition(models[suffix], trainable_spec(models[suffix], None))
        forward = eqx.filter_jit(lambda t, f, b: (loss_fn(t, f, b)[0],))
        if not suffix:
            fwd = compile_stats(lambda: forward.lower(t_all, f_all, batch))
            assert not fwd["while_loops"]
        runners.append(Runner("forward_only" + suffix, forward, (), const=(t_all, f_all), batch=batch))

    first_call_s = {r.name: compile_and_warm(r, args.warmup) for r in runners}
    times = interleave(runners, args.rounds, args.steps)

    skipped = weight_grad_flops(model, ["decoder", "lm_head"], B * S)
    frozen_out = {
        "configs": {"unrolled": str(IMAGE_TEXT.relative_to(HERE.parent)), "scan": str(IMAGE_TEXT_SCAN.relative_to(HERE.parent))},
        "batch": {k: list(v.shape) for k, v in graph.batch.items()},
        "decoder_sequence": S,
        "flops": flops,
        "flops_as_reported": flops_reported,
        "while_loops": loops,
        "flops_forward_only": fwd["flops"],
        "flops_ratio_to_full": {k: v / flops["full"] for k, v in flops.items()},
        "full_minus_image_only": flops["full"] - flops["image_only"],
        "decoder_and_head_weight_grad_matmul_flops": skipped,
        "decoder_and_head_weight_grad_share_of_full": skipped / flops["full"],
        "first_call_s": first_call_s,  # trace + compile + one step
        "median_step_s": {k: statistics.median(v) for k, v in times.items()},
        "time_ratio_to_full": {k: ratio_stats(times[k], times["full"]) for k in times},
    }
    if args.diagnose:
        frozen_out["time_ratio_scan_over_unrolled"] = {v: ratio_stats(times[v + "_scan"], times[v]) for v in [*VARIANTS, "forward_only"]}
        frozen_out["time_ratio_to_full_scan"] = {v: ratio_stats(times[v + "_scan"], times["full_scan"]) for v in [*VARIANTS, "forward_only"]}
    return frozen_out, opt_bytes


# --------------------------------------------------------------------------- reporting


def print_overhead(r: dict) -> None:
    print(f"\n== 1. Train-step overhead: {r['configs']['unrolled']} / {r['configs']['scan']} "
          f"({r['head']} head, batch {r['batch']}, {r['params']:,} params)")
    p = r["parity"]
    print(f"  parity, first step: loss hand {p['loss_hand']:.6f}, " + ", ".join(
        f"{n} {p[f'loss_{n}']:.6f} (max |dW| head {p[f'max_abs_diff_head_{n}_vs_hand']:.1e}, "
        f"wq[0] {p[f'max_abs_diff_wq0_{n}_vs_hand']:.1e})" for n in ("composed", "composed_scan", "hand_scan")))
    print("  XLA GFLOP per step (scans unrolled for counting) [as reported] {while loops}: " + ", ".join(
        f"{k} {r['flops'][k] / 1e9:.3f} [{r['flops_as_reported'][k] / 1e9:.3f}] {{{r['compile'][k]['while_loops']}}}"
        for k in r["flops"]))
    print("  FLOP ratio composed / hand: " + ", ".join(f"{k} {v:.4f}" for k, v in r["flops_ratio"].items()))
    print("  trace+lower / compile s: " + ", ".join(
        f"{k} {v['trace_lower_s']:.2f}/{v['compile_s']:.2f}" for k, v in r["compile"].items()))
    if "compile_vs_depth" in r:
        print("  composed step trace+lower+compile s by depth: " + ", ".join(
            f"{k} {v:.1f}" for k, v in r["compile_vs_depth"].items()))
    print("  median step ms (orientation only): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in r["median_step_s"].items()))
    print(f"  {'ratio':<44}{'median':>8}{'p25':>8}{'p75':>8}{'rounds':>8}")
    rows = [
        ("composed / hand, unrolled (target <= 1.05)", r["ratio_composed_over_hand"]),
        ("composed_scan / hand_scan", r["ratio_composed_scan_over_hand_scan"]),
        ("composed_scan / composed", r["ratio_composed_scan_over_composed"]),
        ("hand_scan / hand", r["ratio_hand_scan_over_hand"]),
    ]
    for label, s in rows:
        print(f"  {label:<44}{s['median']:>8.3f}{s['p25']:>8.3f}{s['p75']:>8.3f}{s['rounds']:>8}")


def print_frozen(r: dict, o: dict) -> None:
    print(f"\n== 2. Frozen-pathway fine-tuning: {r['configs']['unrolled']} (batch {r['batch']}, decoder sequence {r['decoder_sequence']})")
    print(f"  {'step':<16}{'GFLOP':>9}{'x full':>8}{'GFLOP(rep.)':>13}{'loops':>6}{'time x full':>13}{'p25':>7}{'p75':>7}{'ms':>8}")
    names = [k for k in r["flops"] if not k.endswith("_scan")] + [k for k in r["flops"] if k.endswith("_scan")]
    for k in names:
        t = r["time_ratio_to_full"][k]
        print(f"  {k:<16}{r['flops'][k] / 1e9:>9.3f}{r['flops_ratio_to_full'][k]:>8.3f}"
              f"{r['flops_as_reported'][k] / 1e9:>13.3f}{r['while_loops'][k]:>6}{t['median']:>13.3f}{t['p25']:>7.3f}{t['p75']:>7.3f}"
              f"{r['median_step_s'][k] * 1e3:>8.1f}")
    t = r["time_ratio_to_full"]["forward_only"]
    print(f"  {'forward_only':<16}{r['flops_forward_only'] / 1e9:>9.3f}{r['flops_forward_only'] / r['flops']['full']:>8.3f}"
          f"{'':>13}{'':>6}{t['median']:>13.3f}{t['p25']:>7.3f}{t['p75']:>7.3f}{r['median_step_s']['forward_only'] * 1e3:>8.1f}"
          "   (loss only, no gradients; unrolled)")
    if "forward_only_scan" in r["time_ratio_to_full"]:
        t = r["time_ratio_to_full"]["forward_only_scan"]
        print(f"  {'forward_only_scan':<16}{'':>9}{'':>8}{'':>13}{'':>6}{t['median']:>13.3f}{t['p25']:>7.3f}{t['p75']:>7.3f}"
              f"{r['median_step_s']['forward_only_scan'] * 1e3:>8.1f}   (loss only, scanned)")
    if "time_ratio_scan_over_unrolled" in r:
        print("  scanned / unrolled, same variant: " + ", ".join(
            f"{k} {v['median']:.3f} [{v['p25']:.3f}, {v['p75']:.3f}]" for k, v in r["time_ratio_scan_over_unrolled"].items()))
        print("  x full_scan, all scanned: " + ", ".join(
            f"{k} {v['median']:.3f} [{v['p25']:.3f}, {v['p75']:.3f}]" for k, v in r["time_ratio_to_full_scan"].items()))
    print(f"  full - image_only: {r['full_minus_image_only'] / 1e9:.3f} GFLOP; decoder + lm_head weight-gradient matmuls "
          f"(2*N*din*dout, N=B*S): {r['decoder_and_head_weight_grad_matmul_flops'] / 1e9:.3f} GFLOP "
          f"({r['decoder_and_head_weight_grad_share_of_full']:.3f} of full)")
    print("\n== 3. Optimizer state vs trainable parameters (identical with the stacks scanned)")
    print(f"  {'step':<12}{'trainable':>11}{'param bytes':>13}{'opt bytes':>12}{'opt/param':>11}")
    for k, v in o.items():
        print(f"  {k:<12}{v['trainable_params']:>11,}{v['trainable_param_bytes']:>13,}{v['opt_state_bytes']:>12,}{v['opt_over_param_bytes']:>11.4f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run: few rounds, one step per round")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    ap.add_argument("--parts", nargs="+", choices=["overhead", "frozen"], default=["overhead", "frozen"],
                    help="'frozen' covers parts 2 and 3")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 30, quick 6)")
    ap.add_argument("--steps", type=int, help="steps timed per implementation per round (default 3, quick 1)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps after compiling")
    ap.add_argument("--no-diagnose", dest="diagnose", action="store_false",
                    help="skip part 1's compile-time-by-depth study and part 2's scanned variants")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (6 if args.quick else 30)
    args.steps = args.steps or (1 if args.quick else 3)

    info = machine_info()
    print(f"machine: {info['nproc']} CPUs, {info['cpu_model']}; jax {info['jax']} ({info['backend']}), "
          f"equinox {info['equinox']}, optax {info['optax']}; rounds {args.rounds} x {args.steps} steps")
    results = {"machine": info, "args": {"quick": args.quick, "rounds": args.rounds, "steps": args.steps,
                                         "warmup": args.warmup, "diagnose": args.diagnose}}
    if "overhead" in args.parts:
        results["overhead"] = part_overhead(args)
        print_overhead(results["overhead"])
    if "frozen" in args.parts:
        results["frozen"], results["optimizer_state"] = part_frozen(args)
        print_frozen(results["frozen"], results["optimizer_state"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
