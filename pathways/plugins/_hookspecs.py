"""Every hook a Pathways plugin can implement, in one place.

A plugin is a module (or object) with functions named like these specs and
decorated with `pathways.hookimpl`. Built-in components are plugins of exactly
this kind; installed packages register theirs through the `pathways`
entry-point group:

    [project.entry-points.pathways]
    my_plugin = "my_package.plugin"

Each hook below says when it is called and what it returns. Later sections
(datasets, evaluation tasks, data filters) follow the same shape: a
`pathways_register_<things>()` hook returning a list of classes, collected into
a registry keyed by each class's `type_name`.
"""

from __future__ import annotations

from pathways._markers import hookspec

# ---------------------------------------------------------------------------
# Registration: called once, when the registry is first built in a process.
# ---------------------------------------------------------------------------


@hookspec
def pathways_register_components() -> list[type]:
    """Return the component classes this plugin provides.

    Called once per plugin when the component registry is first needed (by
    `pathways validate`, `pathways.load_model`, ...). Every plugin's list is
    collected: there is no "first result wins". Each class must subclass
    `pathways.Component` and set `type_name`, `kind` and `Config`. Two plugins
    returning the same `type_name` is an error naming both.

    Guide, with a worked example: docs/plugins/components.md.
    """


@hookspec
def pathways_register_datasets() -> list[type]:
    """Return the dataset classes this plugin provides.

    Called once per plugin when the dataset registry is first needed (training,
    `pathways data list`). Every plugin's list is collected. Each class must
    subclass `pathways.data.Dataset` and set `type_name`, `Config` and `fields`.

    Guide, with a worked example: docs/plugins/datasets.md.
    """


@hookspec
def pathways_register_adapters() -> list[type]:
    """Return the parameter-efficient adapter classes this plugin provides (e.g. LoRA).

    Called once per plugin when the adapter registry is first needed (a run with
    `train.adapter`, `--adapter` or `--lora-rank`; loading or merging an adapter
    checkpoint). Every plugin's list is collected. Each class subclasses
    `pathways.adapters.Adapter`, sets `type_name` and `Config`, and provides static
    `apply(module, cfg, *, key)`, `trainable(module)` (a filter tree of the adapter
    leaves) and `merge(module)`. A config selects one with
    `train.adapter: {type: NAME, config: {...}}`.

    Guide, with a worked example: docs/plugins/adapters.md.
    """


# ---------------------------------------------------------------------------
# Data curation: called once, when the filter registry is first built.
# ---------------------------------------------------------------------------


@hookspec
def pathways_register_filters() -> list[type]:
    """Return the data-curation filter classes this plugin provides.

    Called once per plugin when the filter registry is first needed (`pathways
    data curate`, `pathways.curate.load_chain`, ...). Every plugin's list is
    collected; two plugins registering one `type_name` is an error. Each class must
    subclass `pathways.curate.Filter`, set `type_name` (the name chains use:
    `type: gopher_quality`) and `Config` (a `pathways.curate.FilterConfig`), and
    implement `keep(doc)`, or `stateful = True` with `prepare(doc)` and
    `admit(doc, prepared)`.

    Guide, with a worked example: docs/plugins/filters.md.
    """


# ---------------------------------------------------------------------------
# Evaluation: called once, when the task registry is first built.
# ---------------------------------------------------------------------------


@hookspec
def pathways_register_tasks() -> list[type]:
    """Return the evaluation task classes this plugin provides.

    Called once per plugin when the task registry is first needed (`pathways
    eval`, `pathways tasks`, `pathways.evaluate.get_task`). Every plugin's list is
    collected; two plugins registering one `type_name` is an error naming both.
    Each class must subclass `pathways.evaluate.Task`, set `type_name` (the name
    `--tasks` uses), `kind` (`multiple_choice`, `generation`, `classification` or
    `perplexity`) and implement `examples(limit)`; a shared runner scores it.

    Guide, with a worked example: docs/plugins/tasks.md.
    """
