"""Every network the evaluation can use, gathered from a model file (--weights) and a
training runs folder (--runs), with where each came from and why any is missing.

Sources, in order of preference:
- G, E_l: the model file, else runs/generator and runs/lowres;
- F + its fine-tuned E_a (row d): the model file if it holds F, else runs/fusion;
- F_3 + its E_a (row e): the model file if it holds F_3, else runs/fusion-f3;
- E_h (row a): runs/highres; the pre-trained E_a (row c): runs/audio;
- F + fixed E_a (row f): runs/fusion-fixed;
- C_g, C_i: runs/classifiers; LapSRN: runs/lapsrn.
The model file is meant to be exported from the same runs (``vidsr export``), so that E_h
and the encoders were trained against its G.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vidsr.errors import VidsrError
from vidsr.models.build import build_network
from vidsr.models.io import load_networks, networks_in, read_preset, read_preset_like
from vidsr.models.presets import Preset
from vidsr.models.runs import RUN_NETWORKS, train_command, weights_file


@dataclass
class Networks:
    preset: Preset
    nets: dict[str, nn.Module] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    classifier_report: dict = field(default_factory=dict)

    def has(self, *keys: str) -> bool:
        return all(k in self.nets for k in keys)

    def why_missing(self, *keys: str) -> str:
        return "; ".join(dict.fromkeys(self.missing.get(k, f"{k} missing") for k in keys if k not in self.nets))

    def __getitem__(self, key: str) -> nn.Module:
        return self.nets[key]


def load_networks_for_eval(weights: Path | None, runs: Path | None, device: torch.device) -> Networks:
    from vidsr.models.classifiers import load_classifiers, read_report
    from vidsr.models.lapsrn import load_lapsrn

    if runs is not None and not Path(runs).is_dir():
        raise VidsrError(f"--runs {runs} is not a folder (the training runs, one subfolder per stage)")
    run_file = (lambda stage: weights_file(runs, stage)) if runs is not None else (lambda stage: None)
    candidates = [weights] + [run_file(s) for s in ("generator", "lowres", "highres", "fusion", "classifiers", "lapsrn")]
    first = next((c for c in candidates if c is not None and c.is_file()), None)
    if first is None:
        raise VidsrError("nothing to evaluate: give --weights MODEL or --runs RUNS (a training runs folder)")
    preset = read_preset(first)
    bank = Networks(preset)

    def take(path: Path | None, mapping: dict[str, str], why: str) -> bool:
        """Load file networks (name in file -> key in bank) if `path` holds them all."""
        if path is None or not path.is_file():
            for key in mapping.values():
                bank.missing.setdefault(key, why)
            return False
        names = networks_in(path)
        if not set(mapping) <= set(names):
            for key in mapping.values():
                bank.missing.setdefault(key, f"{path} holds {', '.join(names)}, not {', '.join(mapping)}")
            return False
        own = read_preset_like(path, preset)  # the file's own layout (e.g. E_a with or without BatchNorm)
        nets = {name: build_network(name, own) for name in mapping}
        load_networks(path, nets)
        for name, key in mapping.items():
            if key not in bank.nets:
                bank.nets[key] = nets[name].to(device).eval().requires_grad_(False)
                bank.sources[key] = f"{path} ({name})"
                bank.missing.pop(key, None)
        return True

    def from_runs(stage: str) -> tuple[Path | None, str]:
        if runs is None:
            return None, "no --runs given"
        path = run_file(stage)
        return path, f"{path} is missing (vidsr train --stage {train_command(stage)})"

    names = networks_in(weights) if weights is not None else []
    if weights is not None:
        take(weights, {"G": "G", "E_l": "E_l"}, "")
        if "F" in names:
            take(weights, {"F": "F", "E_a": "E_a_F"}, "")
        if "F_3" in names:
            take(weights, {"F_3": "F_3", "E_a": "E_a_F3"}, "")
    for stage, mapping in RUN_NETWORKS:
        if all(k in bank.nets for k in mapping.values()):
            continue
        path, why = from_runs(stage)
        take(path, mapping, why)

    path, why = from_runs("classifiers")
    if path is not None and path.is_file():
        read_preset_like(path, preset)
        for key, net in load_classifiers(path, device).items():
            bank.nets[key], bank.sources[key] = net, f"{path} ({key})"
        bank.classifier_report = read_report(path.parent)
        if "C_i" not in bank.nets:
            bank.missing["C_i"] = bank.classifier_report.get("C_i", {}).get("reason", f"{path} holds no C_i")
    else:
        bank.missing["C_g"] = bank.missing["C_i"] = why
    path, why = from_runs("lapsrn")
    if path is not None and path.is_file():
        read_preset_like(path, preset)
        bank.nets["LapSRN"], bank.sources["LapSRN"] = load_lapsrn(path, device), f"{path} (LapSRN)"
    else:
        bank.missing["LapSRN"] = why
    return bank
