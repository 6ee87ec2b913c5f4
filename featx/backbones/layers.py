"""Several layers of one backbone: ``--layer L1,L2`` or ``auto``, one configuration per layer.

``auto`` picks the backbone's candidate feature layers, shallow to deep: for a built-in backbone
those of the registry (:attr:`featx.backbones.registry.BackboneSpec.layers`, read without
TensorFlow), for a model file its stage ends (:func:`featx.backbones.build.stage_ends`, which
loads the model). The configurations differ only in their layer, so one forward pass computes
them all (:func:`featx.backbones.build.load_backbone`).

>>> from featx.backbones.config import resolve
>>> [c.layer for c in layer_configs(resolve("resnet50", weights=None), "auto")]
['conv2_block3_out', 'conv3_block4_out', 'conv4_block6_out', 'conv5_block3_out']
>>> [c.layer for c in layer_configs(resolve("vgg16", weights=None), "block4_pool,block5_pool")]
['block4_pool', 'block5_pool']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from featx.backbones import registry
from featx.backbones.config import FeatureConfig
from featx.errors import FeatxError

AUTO = "auto"


def parse_layers(layers: str | Sequence[str] | None) -> list[str | None]:
    """``None``, one name, ``"L1,L2"``, ``"auto"`` or a list of names -> a list of names
    (``None``: the backbone's default layer; ``"auto"`` stays, for :func:`layer_configs`)."""
    if layers is None:
        return [None]
    names = layers.split(",") if isinstance(layers, str) else list(layers)
    names = [name.strip() if isinstance(name, str) else name for name in names]
    if not names or any(not isinstance(name, str) or not name for name in names):
        raise FeatxError(f"layers must be names separated by commas, or auto; got {layers!r}")
    if len(set(names)) != len(names):
        raise FeatxError(f"a layer is listed twice in {layers!r}")
    if AUTO in names and len(names) > 1:
        raise FeatxError(f"auto picks the layers itself; list layers or say auto, not both "
                         f"({layers!r})")
    return names


def candidate_layers(config: FeatureConfig) -> list[str]:
    """The layers ``auto`` picks for a configuration's backbone, shallow to deep."""
    if not config.is_file:
        return [layer.name for layer in registry.get(config.backbone).layers]
    from featx.backbones.build import model_stage_ends

    return model_stage_ends(config)


def layer_configs(config: FeatureConfig,
                  layers: str | Sequence[str] | None) -> list[FeatureConfig]:
    """One configuration per layer of ``layers`` (see :func:`parse_layers`), the rest as
    ``config``; ``None`` keeps ``config``'s own layer."""
    names = parse_layers(layers)
    if names == [None]:
        return [config]
    if names == [AUTO]:
        names = candidate_layers(config)
    return [replace(config, layer=name) for name in names]
