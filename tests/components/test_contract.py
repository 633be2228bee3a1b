"""Every registered component, built-in or installed, keeps the component contract."""

import pytest

from pathways.plugins import component_registry
from pathways.testing import check_component

ENTRIES = list(component_registry())


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_component_keeps_its_ports(entry):
    outputs = check_component(entry.cls)
    assert outputs


def test_check_component_catches_a_lying_port():
    from pathways.components import TokenEmbedding
    from pathways.components._ports import Port

    class Liar(TokenEmbedding):
        @classmethod
        def ports(cls, cfg):
            ins, outs = TokenEmbedding.ports(cfg)
            return ins, {**outs, "embeddings": Port(("B", "T", cfg.width + 1))}

    with pytest.raises(AssertionError, match="output 'embeddings': expected"):
        check_component(Liar)
