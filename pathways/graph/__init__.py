"""The pathway graph: validation (`resolve`) and the composed model (`Graph`, `build`)."""

from pathways.graph._batch import random_batch
from pathways.graph._inspect import summarize
from pathways.graph._model import Graph, build, build_abstract, param_key
from pathways.graph._resolve import Node, ResolvedGraph, node_key, resolve

__all__ = ["Graph", "Node", "ResolvedGraph", "build", "build_abstract", "node_key", "param_key", "random_batch", "resolve", "summarize"]
