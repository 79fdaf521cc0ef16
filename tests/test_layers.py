"""The house map (README, "House map"): which parts of vidsr may import which.

Every module's imports are read with ``ast`` — at the top and inside functions alike, and
the names given to ``importlib.import_module`` as string literals — and each import of
another part of vidsr must go down the floors below, or be one of the few sideways edges
listed. A part imports its own modules freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vidsr

ROOT = Path(vidsr.__file__).parent

# The floors, top first. A part may import the parts of the floors below it.
FLOORS = (
    ("__main__",),  # python -m vidsr
    ("cli",),  # the command line: typer, rich, tables and progress bars
    ("pipeline", "train", "eval"),  # inference over videos and pictures; training; evaluation
    ("data",),  # training sets: sources, splits, shards
    ("models", "faces", "audio", "weights"),  # the networks; finding faces; voice features; model files
    ("media", "imaging", "files", "devices"),  # ffmpeg I/O; image helpers; atomic files; devices and precision
    ("errors", "lazy"),  # the exceptions everything raises; attributes imported on first use
)

# The only imports between parts of one floor.
SIDEWAYS = {
    ("eval", "pipeline"),  # the real-footage evaluation runs the pipeline
    ("weights", "models"),  # finding the default model reads its metadata
    ("media", "files"),  # atomic writes
    ("imaging", "files"),
}

# The package itself (vidsr/__init__.py: the version) is under everything.
FLOOR = {part: i for i, parts in enumerate(FLOORS) for part in parts} | {"": len(FLOORS)}


def part_of(module: str) -> str:
    """"vidsr.train.stages.fusion" -> "train"; "vidsr" -> ""."""
    names = module.split(".")
    return names[1] if len(names) > 1 else ""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = ("vidsr",) + path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for every vidsr module ``path`` imports, wherever the import stands."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # "from vidsr import faces" imports the part vidsr.faces
            found += [(node.lineno, f"{base}.{a.name}" if base == "vidsr" else base) for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return sorted((line, name) for line, name in found if name == "vidsr" or name.startswith("vidsr."))


def allowed(source: str, target: str) -> bool:
    if source == target or target == "":
        return True
    if target not in FLOOR:  # a name of vidsr/__init__.py, e.g. "from vidsr import __version__"
        return True
    return FLOOR[target] > FLOOR[source] or (source, target) in SIDEWAYS


def forbidden_edges(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        source = part_of(module_name(path, root))
        assert source in FLOOR, f"{path}: the part '{source}' has no floor in tests/test_layers.py (and the README)"
        for line, target in imports(path, root):
            if not allowed(source, part_of(target)):
                out.append(f"{path.relative_to(root.parent)}:{line}: {source} imports {target}")
    return out


def test_every_import_goes_down_the_floors():
    bad = forbidden_edges()
    assert not bad, "imports against the house map (README, House map):\n" + "\n".join(bad)


def test_the_checker_sees_local_relative_and_dynamic_imports(tmp_path):
    pkg = tmp_path / "vidsr"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "models" / "bad.py").write_text(
        "import importlib\n"
        "def f():\n    from vidsr.train.loop import run_stage\n"
        "def g():\n    from ..eval import run\n"
        "def h():\n    importlib.import_module('vidsr.data.shards')\n"
        "from vidsr import pipeline\n"
        "from vidsr.errors import VidsrError\n")
    bad = forbidden_edges(pkg)
    assert [b.split(": ", 1)[1] for b in bad] == [
        "models imports vidsr.train.loop", "models imports vidsr.eval", "models imports vidsr.data.shards",
        "models imports vidsr.pipeline"], bad


def test_the_readme_house_map_matches_the_floors():
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## House map", 1)[1].split("\n## ", 1)[0]
    for parts in FLOORS:
        for part in parts:
            if part != "__main__":
                assert f"`{part}" in section, f"README's house map does not name {part}"
    for source, target in SIDEWAYS:
        assert f"`{source}" in section and f"`{target}" in section


def test_inference_loads_no_training_data_or_evaluation_code(tiny_weights):
    """After load_model() and one enhanced face, sys.modules holds nothing of train, eval,
    data or cli (a fresh interpreter: the test session itself has imported everything)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from vidsr.pipeline import enhance_face, load_model\n"
        f"model = load_model({str(tiny_weights)!r}, 'cpu')\n"
        "enhance_face(np.full((40, 40, 3), 128, np.uint8), model)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[:2] in (['vidsr', p] for p in ('train', 'eval', 'data', 'cli')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [], out.stdout
