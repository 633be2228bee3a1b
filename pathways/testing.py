"""Helpers for testing components, for plugin authors and this repository alike.

    from pathways.testing import check_component
    def test_contract():
        check_component(MyComponent)              # builds abstractly, runs on port-shaped inputs
"""

from pathways.components import check_component, check_contract, example_inputs
from pathways.graph import random_batch

__all__ = ["check_component", "check_contract", "example_inputs", "random_batch"]
