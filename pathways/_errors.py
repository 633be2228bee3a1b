"""Errors that carry one line per problem, each naming its culprit."""

from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input.

    `where` is the dotted place in the config (`pathways.image.config.patch`);
    `file`/`line`/`column` point into the YAML file that set it, where known.
    """

    where: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        loc = ""
        if self.file is not None:
            loc = self.file
            if self.line is not None:
                loc += f":{self.line}"
                if self.column is not None:
                    loc += f":{self.column}"
            loc += ": "
        where = f"{self.where}: " if self.where else ""
        return f"{loc}{where}{self.message}"


class PathwaysError(Exception):
    """Base class of every error the runtime raises about user input."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(PathwaysError):
    """A config file cannot be loaded, validated or built."""


class PluginError(PathwaysError):
    """Plugins disagree (two register one name) or break their contract."""


def debugging() -> bool:
    """`--debug` or `PATHWAYS_DEBUG=1`: show full tracebacks where one line is shown otherwise."""
    return os.environ.get("PATHWAYS_DEBUG", "") not in ("", "0")


def with_article(word: str) -> str:
    """`an image`, `a video`: a noun in an error message."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


class ConfigDeprecationWarning(FutureWarning):
    """A config uses a spelling that still loads but will not forever (shown to users: a `FutureWarning`)."""
