"""Every error code the server can send to a client, collected from the code itself.

Three sources: the `code` of every `LipforgeError` subclass in every module of the
`lipforge` package (imported one by one), module constants named `*_CODE` holding a
string (job failure codes such as `worker_lost`), and string literals given as the
`"error"` key of a dict literal (hand-built JSON refusals) or as the code argument of
`fail_job(...)`/`_failed(...)`. Used by the test that checks the UI's catalogues.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import lipforge
from lipforge.errors import LipforgeError

SOURCE_ROOT = Path(lipforge.__file__).resolve().parent
FAILURE_CALLS = {"fail_job": 2, "_failed": 1}
SKIPPED_PACKAGES = ("lipforge.migrations",)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def error_class_codes() -> set[str]:
    for module in pkgutil.walk_packages(lipforge.__path__, "lipforge."):
        if module.name.startswith(SKIPPED_PACKAGES):
            continue
        importlib.import_module(module.name)
    return {cls.code for cls in _subclasses(LipforgeError) | {LipforgeError}}


def literal_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCE_ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        codes |= _codes_in(ast.parse(path.read_text(), str(path)))
    return codes


def _codes_in(tree: ast.AST) -> set[str]:
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_str(node.value):
            if any(isinstance(t, ast.Name) and t.id.endswith("_CODE") for t in node.targets):
                codes.add(node.value.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _is_str(key) and key.value == "error" and _is_str(value):
                    codes.add(value.value)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            position = FAILURE_CALLS.get(name or "")
            if position is not None and len(node.args) > position and _is_str(node.args[position]):
                codes.add(node.args[position].value)
    return codes


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def server_error_codes() -> set[str]:
    return error_class_codes() | literal_codes()


if __name__ == "__main__":
    print("\n".join(sorted(server_error_codes())))
