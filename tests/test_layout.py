"""The engine's shape, as issue 11 left it: no module of bot/ over 400
lines, and no two modules that import each other at load time (an import
inside a function, made when it runs, is not a load-time edge)."""
import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
MAX_LINES = 400


def test_no_engine_module_is_over_400_lines():
    long = {p.name: n for p in BOT.glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules: {long}"


def _load_time_imports(path: Path) -> set[str]:
    """The bot modules a module imports at its top level (relative imports)."""
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are for the type checker
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def test_no_import_cycles_at_load_time():
    modules = {p.stem for p in BOT.glob("*.py")}
    graph = {m: _load_time_imports(BOT / f"{m}.py") & modules for m in modules}
    assert graph["rulekit"] >= {"cases"}  # the walk below does see edges

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
