"""Training and pathway-specific fine-tuning: freezing, optimisation, checkpoints, the loop."""

from pathways.train._checkpoint import Checkpoint, CheckpointError, latest_good, list_checkpoints, load, load_into, model_params, save, save_tensors
from pathways.train._checkpoint import write as write_checkpoint
from pathways.train._diff import diff_checkpoints
from pathways.train._load import checkpoint_adapter, load_trained
from pathways.train._loop import FitResult, Interrupted, OutOfMemory, TrainingDiverged, fit, heldout_loss, is_run, print_counts
from pathways.train._merge import merge_adapters
from pathways.train._optim import learning_rate, make_optimizer
from pathways.train._partition import Selection, decay_mask, parameter_counts, select, trainable_spec
from pathways.train._plot import plot_runs
from pathways.train._resume import config_hash
from pathways.train._run import Overrides, Run, TrainState, init_sources, init_state, load_sources, load_weights, open_data, prepare, restore, shard
from pathways.train._state import CheckpointState
from pathways.train._step import make_loss_fn, make_train_step

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointState",
    "FitResult",
    "Interrupted",
    "OutOfMemory",
    "Overrides",
    "Run",
    "Selection",
    "TrainingDiverged",
    "TrainState",
    "checkpoint_adapter",
    "config_hash",
    "decay_mask",
    "diff_checkpoints",
    "fit",
    "heldout_loss",
    "init_sources",
    "init_state",
    "load_sources",
    "is_run",
    "latest_good",
    "learning_rate",
    "list_checkpoints",
    "load",
    "load_into",
    "load_trained",
    "load_weights",
    "make_loss_fn",
    "make_optimizer",
    "make_train_step",
    "merge_adapters",
    "model_params",
    "parameter_counts",
    "plot_runs",
    "open_data",
    "prepare",
    "print_counts",
    "restore",
    "save",
    "select",
    "shard",
    "trainable_spec",
    "save_tensors",
    "write_checkpoint",
]
