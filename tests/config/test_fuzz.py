"""Fuzzing `pathways validate`: whatever a config file holds, validation ends in a summary or located errors.

Configs come from two sources: (a) generated from the JSON Schema that
`pathways schema` prints, so most pass the schema and reach the graph checks;
(b) the shipped examples, mutated (keys dropped, values of the wrong type,
non-finite and huge numbers, renamed pathways, dangling edges, unknown keys,
deep nesting, unicode) and then roughened as text (anchors and aliases, tags,
duplicate keys, YAML 1.1 oddities, control characters, truncation).

Each config is written to a file and checked by the function `pathways validate`
runs. The property: it returns, or raises a `PathwaysError` whose every problem
names its file, is one line, and says where (a config key, or a line for YAML errors).
Runs are derandomized and write no example database, so CI sees the same examples every time.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways import PathwaysError
from pathways.cli import validate as validate_cli
from pathways.config import json_schema
from pathways.plugins import component_registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))
# CI runs a bounded, reproducible sample; PATHWAYS_FUZZ_EXAMPLES=1000 runs a longer one locally.
EXAMPLES_PER_TEST = int(os.environ.get("PATHWAYS_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES_PER_TEST, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.large_base_example], print_blob=True)
RAN: dict[str, int] = {}  # examples run per test, reported by test_fuzzers_ran

# Words configs use, so that generated references and names often hit something real.
WORDS = [
    "tokens", "image", "audio", "text", "decoder", "lm_head", "fusion", "x", "B", "T",
    "batch.tokens", "batch.image", "text.embeddings", "text.mask", "text.table", "decoder.x",
    "lm_head.logits", "image.tokens", "int32", "float32", "bfloat16", "digits", "bytes",
    "data", "fsdp", "tensor", ".*", "weight$", "label", "ünï", "🙂", "", "a.b",
]  # fmt: skip
HUGE_INTS = [0, -1, 2**31, 10**12, 2**63, 10**30]
ODD_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e12, -1e12, 1e308, -0.0, 5e-324]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A copy of examples/ (so `extends` and tokenizer paths resolve), where each fuzzed config is written."""
    work = tmp_path_factory.mktemp("fuzz") / "examples"
    shutil.copytree(ROOT / "examples", work)
    return work


def check(path: Path, text: str) -> None:
    """Validate `text` as `pathways validate` does; any exception but a well-placed `PathwaysError` fails the test."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validate_cli.run(argparse.Namespace(configs=[str(path)]))
    except PathwaysError as exc:
        assert exc.problems, "a PathwaysError with no problems"
        for p in exc.problems:
            assert p.file is not None, f"no file: {p}"
            assert p.where or p.line is not None, f"neither a config key nor a line: {p}"
            assert "\n" not in str(p), f"more than one line: {p!r}"


# ---------------------------------------------------------------------------
# (a) Configs generated from the JSON Schema.
# ---------------------------------------------------------------------------


def _ref(schema: dict, defs: dict) -> dict:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict, defs: dict, depth: int = 0) -> st.SearchStrategy:
    """Values that (mostly) satisfy `schema`, the subset of JSON Schema pydantic emits."""
    schema = _ref(schema, defs)
    if "oneOf" in schema:  # a pathway: the base spec with one component's `type` and `config`
        base = {k: v for k, v in schema.items() if k != "oneOf"}
        return st.sampled_from(schema["oneOf"]).flatmap(
            lambda variant: from_schema({**base, "properties": {**base["properties"], **variant["properties"]}}, defs, depth)
        )
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs, depth)
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*[from_schema(s, defs, depth + 1) for s in schema["prefixItems"]]).map(list)
        items = from_schema(schema.get("items", {}), defs, depth + 1)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -10 - 1) + 1)
        high = schema.get("maximum", low + 64)
        return st.integers(low, high) | st.sampled_from(HUGE_INTS)
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -10.0))
        return st.floats(low, schema.get("maximum", low + 10.0), allow_nan=False, allow_infinity=False) | st.sampled_from(ODD_NUMBERS)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        return st.sampled_from(WORDS) | st.text(max_size=8)
    return json_values(depth)  # `Any`: a component's free-form value


def _object(schema: dict, defs: dict, depth: int) -> st.SearchStrategy:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    extra = schema.get("additionalProperties", False)

    @st.composite
    def build(draw):
        out = {}
        for name, sub in props.items():
            if name in required or draw(st.booleans()):
                out[name] = draw(from_schema(sub, defs, depth + 1))
        if extra and depth < 6:
            values = from_schema(extra, defs, depth + 1) if isinstance(extra, dict) else json_values(depth + 1)
            out.update(draw(st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), values, max_size=3)))
        return out

    return build()


def json_values(depth: int) -> st.SearchStrategy:
    scalars = st.none() | st.booleans() | st.integers(-5, 100) | st.sampled_from(HUGE_INTS + ODD_NUMBERS) | st.sampled_from(WORDS)
    if depth > 4:
        return scalars
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=3), max_leaves=6)


def test_configs_generated_from_the_schema(workdir):
    schema = json_schema(component_registry())
    strategy = from_schema(schema, schema["$defs"])

    @FUZZ
    @given(strategy)
    def run(config):
        RAN["schema"] = RAN.get("schema", 0) + 1
        check(workdir / "fuzz_schema.yaml", yaml.safe_dump(config, allow_unicode=True, sort_keys=False))

    run()
    assert RAN["schema"] >= EXAMPLES_PER_TEST


# ---------------------------------------------------------------------------
# (b) Shipped examples, mutated.
# ---------------------------------------------------------------------------

REPLACEMENTS = [None, True, "", "x", "ünï 🙂", "1e3", [], {}, [1, [2]], {"a": {"b": 1}}, 0, -1, -7, 3.5, *HUGE_INTS, *ODD_NUMBERS]


def paths(tree, prefix=()) -> list[tuple]:
    """Every key path in `tree` (mappings and lists)."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += paths(v, prefix + (i,))
    return out


def get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def put(tree, path, value):
    if not path:
        return value
    get(tree, path[:-1])[path[-1]] = value
    return tree


def mutate(draw, tree):
    """Apply one structural mutation to the parsed example."""
    where = draw(st.sampled_from(paths(tree)))
    op = draw(st.sampled_from(["drop", "replace", "replace", "rename_pathway", "dangle", "unknown_key", "nest", "unicode_key", "huge_width"]))
    if op == "drop" and where:
        parent = get(tree, where[:-1])
        parent.pop(where[-1])
    elif op == "replace":
        tree = put(tree, where, copy.deepcopy(draw(st.sampled_from(REPLACEMENTS))))
    elif op == "rename_pathway" and isinstance(tree, dict) and isinstance(tree.get("pathways"), dict) and tree["pathways"]:
        old = draw(st.sampled_from(sorted(map(str, tree["pathways"]))))
        new = draw(st.sampled_from(["batch", "a.b", "9lives", "ünï", "", "decoder", "renamed"]))
        tree["pathways"] = {(new if str(k) == old else k): v for k, v in tree["pathways"].items()}
    elif op == "dangle":
        refs = [p for p in paths(tree) if isinstance(get(tree, p), str) and "." in get(tree, p) and p and p[0] in ("pathways", "train", "outputs")]
        if refs:
            tree = put(tree, draw(st.sampled_from(refs)), draw(st.sampled_from(["nowhere.x", "batch.missing", "text", "text.nothing", "decoder.x.y", "."])))
    elif op == "unknown_key":
        target = get(tree, where)
        if isinstance(target, dict):
            target[draw(st.sampled_from(["typo", "widht", "type_", "🙂", "inputs", "extends"]))] = draw(st.sampled_from(REPLACEMENTS))
    elif op == "nest":
        value = get(tree, where)
        for _ in range(draw(st.sampled_from([1, 3, 70]))):
            value = draw(st.sampled_from([[value], {"k": value}]))
        tree = put(tree, where, value)
    elif op == "unicode_key":
        target = get(tree, where)
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target, key=str)))
            target[f"{key}\u0301"] = target.pop(key)  # a combining accent: looks the same, is another key
    elif op == "huge_width":  # a model no machine holds: validate must still not allocate it
        for p in paths(tree):
            if p and p[-1] in ("width", "vocab_size", "mlp_dim"):
                tree = put(tree, p, 10**12)
    return tree


TAGS = ["!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system", "!!binary aGVsbG8=", "!!set {a, b}", "!custom x", "!!timestamp 2020-13-45", "!!float abc", "!!int 0x1F", "!!str 12"]


def roughen(draw, text: str) -> str:
    """Apply one textual YAML oddity."""
    lines = text.splitlines()
    op = draw(st.sampled_from(["none", "anchor", "recursive", "laughs", "merge", "tag", "duplicate", "yaml11", "documents", "bom_crlf", "control", "truncate", "tabs"]))
    if op == "anchor":
        return "shared: &shared {width: 8, depth: 1}\n" + text + "description: *shared\n"
    if op == "recursive":
        return text + "description: &loop [1, *loop]\n"
    if op == "laughs":
        rows = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 7)]
        return text + "\n".join(rows) + "\n"
    if op == "merge":
        return "base: &base {name: merged, extends: nowhere.yaml}\n<<: *base\n" + text
    if op == "tag" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        key, sep, _ = lines[i].partition(": ")
        if sep:
            lines[i] = f"{key}: {draw(st.sampled_from(TAGS))}"
    elif op == "duplicate" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
    elif op == "yaml11":
        return text.replace(": true", ": yes").replace(": 1\n", ": 0o1\n").replace("name: ", "name: ~ #", 1) + "seed: 1:20\n"
    elif op == "documents":
        return text + "---\nname: second\n"
    elif op == "bom_crlf":
        return "\ufeff" + "\r\n".join(lines) + "\r\n"
    elif op == "control" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] += draw(st.sampled_from(["\x00", "\x07", "\x1b[31m", "\ud800"]))
    elif op == "truncate" and text:
        return text[: draw(st.integers(0, len(text) - 1))]
    elif op == "tabs":
        return text.replace("  ", "\t", 3)
    return "\n".join(lines) + "\n"


@st.composite
def mutated_examples(draw):
    name = draw(st.sampled_from(EXAMPLES))
    tree = yaml.safe_load((ROOT / "examples" / name).read_text())
    for _ in range(draw(st.integers(1, 3))):
        tree = mutate(draw, tree)
    text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    return name, roughen(draw, text)


def test_mutated_examples(workdir):
    @FUZZ
    @given(mutated_examples())
    def run(example):
        name, text = example
        RAN["mutated"] = RAN.get("mutated", 0) + 1
        check(workdir / f"fuzz_{name}", text)

    run()
    assert RAN["mutated"] >= EXAMPLES_PER_TEST


def test_a_trillion_wide_model_validates_without_allocating(workdir):
    # 512 x 1e12 float32 embeddings alone are 2 PB: this finishes only if validation stays abstract.
    tree = yaml.safe_load((ROOT / "examples" / "digits.yaml").read_text())
    for p in paths(tree):
        if p and p[-1] == "width":
            tree = put(tree, p, 10**12)
    start = time.perf_counter()
    check(workdir / "trillion.yaml", yaml.safe_dump(tree))
    assert time.perf_counter() - start < 30


def test_fuzzers_ran():
    """Reports how many examples the fuzzers ran (`pytest -s` prints it)."""
    if not RAN:
        pytest.skip("run with the fuzz tests above")
    print(f"\nfuzz examples run: {RAN} = {sum(RAN.values())} in total")
    assert sum(RAN.values()) >= 2 * EXAMPLES_PER_TEST
