"""A training runs folder (``--runs``): the one place its layout is defined.

Every stage trains in ``RUNS/<stage>/``: ``options.json``, ``stats.jsonl``, ``samples/``,
``checkpoints/`` and, when it ends, ``weights.safetensors`` (:data:`WEIGHTS`), the networks
that later stages, the evaluation and ``vidsr export`` read. The paper's stages run in
:data:`STAGE_ORDER`; :data:`EXTRA_STAGES` are for the evaluation; ``--stage all`` runs
:data:`RECIPE_ORDER` (the whole model). The fusion stage has
:data:`VARIANTS`, each in its own folder; :data:`RUN_NETWORKS` says which network comes
from which folder. Adding a fusion variant is one row of :data:`VARIANTS`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WEIGHTS = "weights.safetensors"  # the file every stage writes into its run folder


def default_runs() -> Path:
    """Where training runs live unless ``--runs`` says otherwise: ``$VIDSR_RUNS``, else
    ``$XDG_DATA_HOME/vidsr/runs`` (``~/.local/share/vidsr/runs``). Outside any repository
    on purpose: training state (checkpoints, optimiser state) is never committed; only
    released model files are (``weights/``)."""
    if os.environ.get("VIDSR_RUNS"):
        return Path(os.environ["VIDSR_RUNS"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "vidsr" / "runs"


RUNS = default_runs()  # the `--runs` default of every command that takes one (`vidsr train`, `vidsr export`)

STAGE_ORDER = ("generator", "highres", "lowres", "audio", "fusion")  # the paper's
EXTRA_STAGES = ("classifiers", "lapsrn")  # our judges C_g / C_i (section 4.3), the LapSRN baseline (Table 2)
STAGES = STAGE_ORDER + EXTRA_STAGES
# What `vidsr train --stage all` runs, in order: the whole model. The paper's stages, C_g before
# the stages whose gender terms read it (fusion, fidelity), then R on the model they made, which
# `--stage all` first exports to FIDELITY_INIT (the fidelity stage's option init).
RECIPE_ORDER = ("generator", "highres", "classifiers", "lowres", "audio", "fusion", "fidelity")
FIDELITY_INIT = Path("fidelity") / "init.safetensors"


@dataclass(frozen=True)
class Variant:
    """A variant of the fusion stage: its run folder, F or F_3, E_a fine-tuned or fixed."""

    name: str  # its run folder
    layers: int  # 1: F, 3: F_3
    finetune_audio: bool
    flags: str  # the `vidsr train --stage fusion` flags that make it
    keys: tuple[str, str] | None  # what the evaluation calls its F and its E_a (None: not evaluated)

    @property
    def fusion_key(self) -> str:
        """The name of its F in the weights file: "F" or "F_3"."""
        return "F_3" if self.layers == 3 else "F"


VARIANTS = (
    Variant("fusion", 1, True, "", ("F", "E_a_F")),  # the paper's F, rows (d) of Table 1
    Variant("fusion-f3", 3, True, "--layers 3", ("F_3", "E_a_F3")),  # F_3, row (e)
    Variant("fusion-fixed", 1, False, "--fixed-audio", ("F_fixed", "E_a_fixed")),  # F with E_a fixed, row (f)
    Variant("fusion-f3-fixed", 3, False, "--layers 3 --fixed-audio", None),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)

# Where each network of a runs folder comes from: (run folder, {name in its file: the evaluation's name}).
RUN_NETWORKS = (
    ("generator", {"G": "G"}),
    ("lowres", {"E_l": "E_l"}),
    ("highres", {"E_h": "E_h"}),
    ("audio", {"E_a": "E_a_pre"}),
    *((v.name, {v.fusion_key: v.keys[0], "E_a": v.keys[1]}) for v in VARIANTS if v.keys is not None),
)


# The run folder each network a later stage reads frozen comes from (D: the generator's discriminator).
TRAINED_IN = {"G": "generator", "D": "generator", "E_h": "highres", "E_l": "lowres", "E_a": "audio"}


def variant(name: str) -> Variant:
    """The fusion variant of a run folder's name; KeyError for another name."""
    return {v.name: v for v in VARIANTS}[name]


def variant_name(layers: int, finetune_audio: bool) -> str:
    """The run folder of the fusion stage trained with these options."""
    return next(v.name for v in VARIANTS if (v.layers, v.finetune_audio) == (layers, finetune_audio))


def weights_file(runs: str | Path, stage: str) -> Path:
    """The weights file a finished run of ``stage`` (or a fusion variant) leaves in ``runs``."""
    return Path(runs) / stage / WEIGHTS


def train_command(stage: str) -> str:
    """The `vidsr train --stage ...` words that make the run folder ``stage``."""
    v = {v.name: v for v in VARIANTS}.get(stage)
    return f"fusion {v.flags}".strip() if v is not None else stage
