"""The engine's shape: layers as subpackages of bot/, each entered through
one door (its __init__), imports going one way only.

Every import counts here, wherever it is written: at the top of a module,
inside a function (made when it runs, to keep `tdxbot b4-check` quick) or
under `if TYPE_CHECKING:`. A cycle or a back door hidden in a function is
still a cycle or a back door to a reader.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
RULES = ROOT / "rules"
# Bottom to top: a layer may use the layers before it, never those after.
LAYERS = ("common", "mail", "facts", "lint", "output", "flow", "watch")
# What sits above every layer: the command line, and the command's first
# step with the resident b4-check worker behind it.
TOP = ("cli", "argspec", "__main__", "entry", "resident")
RULE_DOOR = "tdxbot.lint.kit"


def _module_name(path: Path) -> str:
    if path.is_relative_to(RULES):
        parts = ["rules"] + ([] if path.stem == "__init__" else [path.stem])
    else:
        parts = list(path.relative_to(BOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
    return ".".join(["tdxbot"] + parts)


MODULES = {_module_name(p): p for p in list(BOT.rglob("*.py")) + list(RULES.glob("*.py"))}


class Import:
    def __init__(self, source: str, target: str, names: list[str], line: int):
        self.source, self.target, self.names, self.line = source, target, names, line

    def __repr__(self):
        return f"{self.source}:{self.line} imports {', '.join(self.names) or '*'} from {self.target}"


def _imports(module: str) -> list[Import]:
    """Every import of a tdxbot module that module makes, as (target
    module, names taken from it)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.split(".")[0] == "tdxbot":
                continue
            names = [a.name for a in node.names]
            # `from . import x` where x is a module is an import of that module.
            modules = [n for n in names if f"{target}.{n}" in MODULES]
            for name in modules:
                out.append(Import(module, f"{target}.{name}", [], node.lineno))
            rest = [n for n in names if n not in modules]
            if rest or not modules:
                out.append(Import(module, target, rest, node.lineno))
        elif isinstance(node, ast.Import):
            out += [Import(module, a.name, [], node.lineno) for a in node.names
                    if a.name.split(".")[0] == "tdxbot"]
    return out


IMPORTS = {m: _imports(m) for m in MODULES}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    if len(parts) > 1 and parts[1] == "rules":
        return "rules"
    return None  # the package itself or the command line


def test_the_tree_shows_the_layers():
    """bot/ holds the layer packages and the command line, nothing else."""
    top = sorted(p.stem for p in BOT.glob("*.py"))
    assert top == sorted(("__init__",) + TOP)
    packages = sorted(p.name for p in BOT.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(LAYERS)
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((BOT / layer / "__init__.py").read_text(encoding="utf-8")))
        assert doc, f"bot/{layer}/__init__.py says what the layer is"


def test_the_walk_sees_imports():
    """The checks below would pass on an empty graph; this one would not."""
    assert any(i.target == RULE_DOOR for i in IMPORTS["tdxbot.rules.tdx_unbounded_retry"])
    assert any(i.target == "tdxbot.mail" for i in IMPORTS["tdxbot.flow.pipeline"])
    # An import made inside a function is seen too.
    assert any(i.target.startswith("tdxbot.") for i in IMPORTS["tdxbot.cli"])


def test_no_import_cycles():
    graph = {m: {i.target for i in IMPORTS[m] if i.target in MODULES and i.target != m} for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_layers_are_entered_through_their_door_and_only_from_above():
    """Outside its own layer, a module is reached only through the layer's
    __init__; and a layer uses only the layers below it."""
    wrong = []
    for module, imports in IMPORTS.items():
        here = _layer(module)
        for imp in imports:
            there = _layer(imp.target)
            if there is None or there == here or there == "rules":
                continue  # the package's version, or within a layer
            if here == "rules":
                continue  # the rules' own test below
            door = f"tdxbot.{there}"
            if imp.target != door:
                wrong.append(f"{imp} (not through {door})")
            elif here is not None and LAYERS.index(there) > LAYERS.index(here):
                wrong.append(f"{imp} (a lower layer uses a higher one)")
    assert not wrong, "\n".join(wrong)


def test_rules_import_only_the_kit():
    """A rule imports the rule kit and the private helpers of rules/, and
    nothing else of tdxbot."""
    wrong = [repr(i) for m, imports in IMPORTS.items() if m.startswith("tdxbot.rules.")
             for i in imports if i.target != RULE_DOOR and not i.target.startswith("tdxbot.rules._")]
    assert not wrong, "\n".join(wrong)
    users = {m for m, imports in IMPORTS.items() if any(i.target == RULE_DOOR for i in imports)}
    assert users <= {m for m in MODULES if m.startswith("tdxbot.rules") or m.startswith("tdxbot.lint")}


def test_no_private_name_crosses_a_module():
    """`from .x import _name` reaches into another module's insides."""
    wrong = [repr(i) for imports in IMPORTS.values() for i in imports
             if any(n.startswith("_") and not n.startswith("__") for n in i.names)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_door_names_what_it_offers(layer):
    """A door's __all__ lists its API, and every name in it is there."""
    import importlib

    door = importlib.import_module(f"tdxbot.{layer}")
    assert door.__all__, layer
    assert sorted(set(door.__all__)) == sorted(door.__all__)
    missing = [name for name in door.__all__ if not hasattr(door, name)]
    assert not missing, missing


@pytest.mark.parametrize("layer", LAYERS)
def test_a_lazy_door_imports_for_readers_what_it_offers(layer):
    """A lazy door (common/doors.py) names each module's offer twice: in the
    table it imports from when a name is asked for, and as imports under
    TYPE_CHECKING for readers and type checkers. The two agree, and they
    offer what __all__ lists."""
    import ast

    tree = ast.parse((BOT / layer / "__init__.py").read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "lazy_door"]
    if not calls:
        pytest.skip(f"{layer} is an eager door")
    table = {(room.value, name.value) for room, names in zip(calls[0].args[1].keys, calls[0].args[1].values)
             for name in names.elts}
    guarded = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING"]
    imported = {(i.module, a.name) for g in guarded for i in g.body if isinstance(i, ast.ImportFrom)
                for a in i.names}
    assert table == imported
    all_names = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                     and n.targets[0].id == "__all__")
    assert {name for _, name in table} == {e.value for e in all_names.elts}


def test_the_rule_kit_names_what_it_offers():
    import importlib

    kit = importlib.import_module(RULE_DOOR)
    missing = [name for name in kit.__all__ if not hasattr(kit, name)]
    assert not missing, missing
    used = {n for m, imports in IMPORTS.items() if m.startswith("tdxbot.rules.")
            for i in imports if i.target == RULE_DOOR for n in i.names}
    assert used <= set(kit.__all__), sorted(used - set(kit.__all__))
