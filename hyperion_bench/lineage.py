"""Trials that inherit a trained network: the hook BULK & CUT needs, kept out of ``evaluate``.

Why a module of its own: every other method trains each config from scratch, and ``evaluate`` must
stay the same for them. A method that grows or shrinks trained networks passes a few trial constants
(``hb_<key>`` in the config, like every harness constant) and ``evaluate`` calls three hooks:

- ``prepare(model, device)``: with ``parent_checkpoint``, replace the freshly built network by the
  parent's (spec + weights, see ``nn.morph``) after ``transform`` (``deepen``, ``widen`` or ``prune``,
  randomised by ``transform_seed``); with ``distill``, keep the parent as a frozen teacher;
- ``loss(logits, x, y)``: cross-entropy, or Hinton distillation from the teacher;
- ``finish(model)``: with ``save_checkpoint``, write the trained network (spec + weights) there.

Without any of these constants ``from_constants`` returns None and ``evaluate`` runs as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperion_bench.nn import morph

KEYS = ("parent_checkpoint", "transform", "transform_seed", "distill", "save_checkpoint", "prune_fraction",
        "widen_factor", "temperature", "distill_alpha")
TRANSFORMS = ("", "deepen", "widen", "prune")


@dataclass
class Lineage:
    parent_checkpoint: str = ""
    transform: str = ""
    transform_seed: int = 0
    distill: bool = False
    save_checkpoint: str = ""
    prune_fraction: float = 0.5
    widen_factor: float = 1.5
    temperature: float = 4.0
    distill_alpha: float = 0.9

    def __post_init__(self) -> None:
        assert self.transform in TRANSFORMS, f"unknown transform {self.transform!r}"
        assert not (self.transform or self.distill) or self.parent_checkpoint, "a transform needs a parent"
        self.teacher: nn.Module | None = None

    @classmethod
    def from_constants(cls, constants: dict[str, Any]) -> Lineage | None:
        """The lineage constants of a trial (``hb_`` prefix already removed), or None without any."""
        given = {k: constants[k] for k in KEYS if k in constants and constants[k] not in (None, "")}
        return cls(**given) if given else None

    def prepare(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The network to train: ``model`` itself, or the (transformed) parent."""
        if not self.parent_checkpoint:
            if self.save_checkpoint:
                morph.as_sequential(model)  # fail now, not after training, on a network we cannot save
            return model
        parent = morph.load(self.parent_checkpoint)
        rng = np.random.default_rng(int(self.transform_seed))
        if self.transform == "deepen":
            child = morph.deepen(parent, rng)
        elif self.transform == "widen":
            child = morph.widen(parent, rng, factor=float(self.widen_factor))
        elif self.transform == "prune":
            child = morph.prune(parent, fraction=float(self.prune_fraction))
        else:
            child = morph.build(morph.describe(parent))
            child.load_state_dict(parent.state_dict())
        if self.distill:
            self.teacher = parent.to(device).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
        return child

    def loss(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.teacher is None:
            return F.cross_entropy(logits, y)
        with torch.no_grad():
            teacher_logits = self.teacher(x)
        return morph.distillation_loss(logits, teacher_logits, y, self.temperature, self.distill_alpha)

    def finish(self, model: nn.Module) -> None:
        if self.save_checkpoint:
            morph.save(model, self.save_checkpoint)
