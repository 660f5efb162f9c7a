"""The catalog layer owns every SQL statement (issue 15): commands, the GUI, the trainer and plugins call
named methods of :class:`culler.catalog.Catalog` instead of writing SQL.

A plugin may keep the SQL of its own tables' migrations, and only inside its ``register_migrations``
hook, where core applies and records them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Statements as this codebase writes them (upper-case keywords), so English prose ("select a photo
#: from the grid") is not mistaken for SQL.
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\b(CREATE|DROP)\s+(TEMP\s+|UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bALTER\s+TABLE\b|\bREPLACE\s+INTO\b|\bPRAGMA\s+\w+|\bBEGIN\s+(IMMEDIATE|EXCLUSIVE)\b"
)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings(tree: ast.AST, skip: set[int]):
    """(line, text) of every string literal in ``tree``; an f-string's literal parts are joined."""
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in parts:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values)
            yield node.lineno, text
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def sql_statements(source: str, allow_migration_hook: bool = False) -> list[tuple[int, str]]:
    """(line, first words) of each SQL statement in ``source``'s string literals (not docstrings).

    With ``allow_migration_hook``, SQL inside a ``register_migrations`` function is not reported.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    if allow_migration_hook:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "register_migrations":
                skip |= {id(c) for c in ast.walk(node)}
    found = [(line, text) for line, text in _strings(tree, skip) if SQL.search(text)]
    return sorted((line, " ".join(text.split())[:60]) for line, text in found)


def _sources(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_sql_lives_only_in_the_catalog_layer():
    offenders = []
    for folder in ("culler", "trainer"):
        for rel, source in _sources(folder):
            if rel.startswith("culler/catalog/"):
                continue
            offenders += [f"{rel}:{line}: {text}" for line, text in sql_statements(source)]
    assert not offenders, (
        "SQL outside culler/catalog/ (add a named Catalog method and call it):\n"
        + "\n".join(offenders)
    )


#: Catalog internals a caller outside the layer would use to send its own SQL. ``transaction()`` is
#: not one of them: grouping several named writes into one unit of work (the scan writer commits a
#: batch's rows together) is the caller's decision and sends no SQL of its own.
RAW_ACCESS = {"execute", "executemany", "executescript", "query", "conn"}


def raw_catalog_access(source: str) -> list[tuple[int, str]]:
    """(line, attribute) of each ``x.execute(...)``, ``x.conn`` … in ``source``."""
    return sorted(
        (node.lineno, node.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in RAW_ACCESS
    )


def test_nothing_outside_the_catalog_layer_sends_its_own_sql():
    offenders = []
    for folder in ("culler", "trainer"):
        for rel, source in _sources(folder):
            if rel.startswith("culler/catalog/"):
                continue
            offenders += [f"{rel}:{line}: .{attr}" for line, attr in raw_catalog_access(source)]
    assert not offenders, (
        "raw catalog access outside culler/catalog/ (add a named Catalog method):\n"
        + "\n".join(offenders)
    )


def test_plugins_write_sql_only_in_their_migrations_hook():
    offenders = []
    for rel, source in _sources("plugins"):
        offenders += [
            f"{rel}:{line}: {text}"
            for line, text in sql_statements(source, allow_migration_hook=True)
        ]
    assert not offenders, (
        "plugin SQL outside register_migrations (call Catalog methods instead):\n"
        + "\n".join(offenders)
    )


def test_the_sql_detector_finds_statements_and_ignores_prose():
    source = '''
def f(catalog, ids):
    """Select the photos from the grid and update the set of picks."""
    marks = ",".join("?" * len(ids))
    catalog.execute(f"SELECT id FROM photos WHERE id IN ({marks})", ids)
    catalog.execute(
        "UPDATE photos"
        " SET status = 'ok'"
    )
    label = "Select a scorer to see how to install it, then update from the menu."
    return "INSERT OR REPLACE INTO features VALUES (?, ?)"


def register_migrations(migrations):
    @migrations("x")
    def create(db):
        db.execute("CREATE TABLE IF NOT EXISTS x (id INTEGER)")
'''
    found = [line for line, _ in sql_statements(source)]
    assert found == [5, 7, 11, 17]
    assert [line for line, _ in sql_statements(source, allow_migration_hook=True)] == [5, 7, 11]


def test_raw_access_detector_sees_execute_and_the_connection():
    source = "rows = catalog.query(sql)\ncatalog.conn.commit()\nname = args.db\n"
    assert raw_catalog_access(source) == [(1, "query"), (2, "conn")]


def test_catalog_mixins_never_shadow_each_others_methods():
    """Each part of the catalog layer is a mixin of ``Catalog``; two defining the same name would
    silently call the wrong one (the first in the method resolution order)."""
    from culler.catalog import Catalog

    owners: dict[str, list[str]] = {}
    for cls in Catalog.__mro__[1:-1]:
        for name, value in vars(cls).items():
            if callable(value) and not name.startswith("__"):
                owners.setdefault(name, []).append(cls.__name__)
    assert {name: who for name, who in owners.items() if len(who) > 1} == {}
