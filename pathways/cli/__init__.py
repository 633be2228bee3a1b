"""The `pathways` command line: a thin layer, one module per subcommand, over the library."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from pathways._errors import PathwaysError, debugging

# Subcommand modules; each defines `register(subparsers)` that adds its commands and sets `func` (train.py: train and finetune).
COMMANDS = ("validate", "inspect", "plan", "forward", "train", "lora_merge", "import_", "export", "diff", "plot", "generate", "eval", "tasks", "plugins", "registry", "schema", "tokenizer", "data")

DESCRIPTION = """\
Compose, grow and fine-tune Gemini-style multimodal models from YAML.

A config names pathways (registered components: encoders, fusion, decoder,
heads) and wires their ports; see `pathways plugins` for what is registered and
`pathways schema` for the file format.
"""


class UsageError(Exception):
    """A command line argparse refuses: printed as one `error:` line, exit 2, like every other bad input."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a refused flag is one line naming it (`error: --workers: must be at least 1, got 0`)
    instead of the usage text and a second line; `--help` shows the usage."""

    def error(self, message: str):
        if message.startswith("argument "):
            message = message[len("argument ") :]
        else:
            message = f"{message} (see `{self.prog} --help`)"
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pathways", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    from pathways import __version__

    parser.add_argument("--version", action="version", version=f"pathways {__version__}")
    parser.add_argument("--debug", action="store_true", help="full tracebacks for failures (plugins that fail to import, errors); also PATHWAYS_DEBUG=1")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"pathways.cli.{name}").register(sub)  # noqa: E501
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings a user should act on (a plugin that failed to load) as `warning: ...`, not Python's two-line form."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line per problem and exit 2."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.debug:
        os.environ["PATHWAYS_DEBUG"] = "1"
    shown, warnings.showwarning = warnings.showwarning, _one_line_warning
    try:
        return args.func(args) or 0
    except PathwaysError as exc:
        if debugging():
            traceback.print_exc()
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except RuntimeError as exc:  # jax.errors.JaxRuntimeError; XLA reports allocation failures this way
        if "RESOURCE_EXHAUSTED" not in str(exc):
            raise
        first = str(exc).strip().splitlines()[0][:300]
        print(f"error: out of device memory: {first}; shrink the model or batch, or shard it with a mesh", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    finally:
        warnings.showwarning = shown
