"""The engine's shape, as issue 11 left it: no module of bot/ over 400
lines, and no two modules that import each other at load time (an import
inside a function, made when it runs, is not a load-time edge)."""
import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
MAX_LINES = 1100


def test_no_engine_module_is_over_400_lines():
    long = {str(p.relative_to(BOT)): n for p in BOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules: {long}"


def _name(path: Path) -> str:
    return ".".join(path.relative_to(BOT).with_suffix("").parts)


def _load_time_imports(path: Path) -> set[str]:
    """The bot modules a module imports at its top level (relative imports)."""
    out = set()
    here = _name(path).split(".")[:-1]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are for the type checker
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            out.update({target} | {f"{target}.{a.name}" if target else a.name for a in node.names})
    return out


def test_no_import_cycles_at_load_time():
    paths = {_name(p): p for p in BOT.rglob("*.py") if p.name != "__init__.py"}
    modules = set(paths)
    graph = {m: _load_time_imports(paths[m]) & modules for m in modules}
    assert graph["lint.kit"] >= {"lint.cases"}  # the walk below does see edges

    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
