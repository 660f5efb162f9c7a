"""Plugins see core only through culler.api: every module under plugins/ and examples/ is parsed, and
any import of another culler module fails the test, as does the trainer importing a plugin."""

import ast
import re
from pathlib import Path

import pytest

from culler import api

ROOT = Path(__file__).resolve().parent.parent
#: Folders that hold copies or build output, not source (pip builds the example plugin in place).
NOT_SOURCE = {"build", "dist", ".venv", "__pycache__"}


def sources(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.py") if not NOT_SOURCE & set(p.relative_to(folder).parts)
    )


PLUGIN_SOURCES = sources(ROOT / "plugins") + sources(ROOT / "examples")
TRAINER_SOURCES = sources(ROOT / "trainer")


def _walk(tree: ast.AST, runtime_only: bool):
    """``ast.walk``, optionally leaving out ``if TYPE_CHECKING:`` bodies (never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if runtime_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo += [node.test, *node.orelse]
        else:
            todo += list(ast.iter_child_nodes(node))


def _imported_modules(tree: ast.AST, runtime_only: bool = False) -> list[tuple[int, str]]:
    """Every module a source imports, at any depth (imports inside functions count), as dotted names:
    ``from culler import x`` is ``culler.x``; ``importlib.import_module("a.b")`` is ``a.b``."""
    found = []
    for node in _walk(tree, runtime_only):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _violations(source: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """Imports of ``culler`` outside ``allowed`` (dotted prefixes), and of any ``forbidden`` package."""
    bad = []
    for line, name in _imported_modules(ast.parse(source)):
        top = name.split(".")[0]
        if (
            top == "culler"
            and not any(name == a or name.startswith(a + ".") for a in allowed)
            or top in forbidden
        ):
            bad.append(f"line {line}: {name}")
    return bad


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_checker_catches_every_way_of_reaching_into_core():
    source = (
        "import culler\n"
        "from culler import images\n"
        "from culler.plugin.scorers import Scorer\n"
        "def f():\n"
        "    from culler.models.weights import resolve\n"
        "    importlib.import_module('culler.plugin.manager')\n"
        "    from culler_trainer.registry import load_head\n"
        "from culler.api import Scorer, hookimpl\n"
        "from culler import api\n"
    )
    bad = _violations(source, ("culler.api",), ("culler_trainer",))
    assert sorted(int(b.split(":")[0][5:]) for b in bad) == [1, 2, 3, 5, 6, 7]


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=_rel)
def test_plugins_import_only_the_public_api(path):
    bad = _violations(path.read_text(encoding="utf-8"), ("culler.api",), ("culler_trainer",))
    assert not bad, f"{_rel(path)} reaches into core (use culler.api): {bad}"


@pytest.mark.parametrize("path", TRAINER_SOURCES, ids=_rel)
def test_trainer_gets_plugins_through_the_api(path):
    """The trainer reads the catalog (its data) and otherwise only culler.api; it never imports a
    plugin, by name or by string: trainable models come from the register_trainable_models hook."""
    bad = _violations(
        path.read_text(encoding="utf-8"), ("culler.api", "culler.catalog"), ("culler_plugins",)
    )
    assert not bad, f"{_rel(path)}: {bad}"


def test_plugin_sources_were_found():
    names = {_rel(p) for p in PLUGIN_SOURCES}
    assert {"plugins/clip/__init__.py", "plugins/formats/__init__.py"} <= names
    assert any(n.startswith("examples/") for n in names)


def test_every_public_name_resolves_and_is_documented():
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    table = docs[docs.index("# The plugin API") :]
    for name in api.__all__:
        assert getattr(api, name) is not None
        assert re.search(rf"`{re.escape(name)}[`(]", table), f"{name} is not in docs/plugins.md"


def test_importing_the_api_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, culler.api; print('torch' in sys.modules, 'culler.models.pull' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


PACKAGES = {
    "culler": ROOT / "culler",
    "culler_plugins": ROOT / "plugins",
    "culler_trainer": ROOT / "trainer",
}


def _module_sources() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in sources(folder):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports at run time, at any depth (imports inside functions
    count: they hide a circle, they do not remove it)."""
    modules = _module_sources()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        deps = set()
        for _, name in _imported_modules(
            ast.parse(path.read_text(encoding="utf-8")), runtime_only=True
        ):
            target = owner(name)
            # A submodule importing its own package (``from culler_plugins.clip import heads``)
            # names the package only to reach a sibling.
            if target and target != module and not module.startswith(target + "."):
                deps.add(target)
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_hidden_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert _cycles(_import_graph()) == []


def test_core_never_imports_a_first_party_plugin():
    graph = _import_graph()
    bad = {
        module: sorted(d for d in deps if d.startswith("culler_plugins"))
        for module, deps in graph.items()
        if module.startswith("culler.") or module == "culler"
    }
    assert not {m: d for m, d in bad.items() if d}
