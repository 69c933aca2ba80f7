"""rrx.pyi names exactly what the module has, and everything has a
docstring."""
import ast
import os

import rrx

STUB = os.path.join(os.environ.get("RRX_SOURCE_DIR", ""), "python", "rrx.pyi")


def stub_names():
    tree = ast.parse(open(STUB).read())
    top, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
        if isinstance(node, ast.ClassDef):
            members[node.name] = {n.name if not isinstance(n, ast.AnnAssign) else n.target.id
                                  for n in node.body
                                  if isinstance(n, (ast.FunctionDef, ast.AnnAssign))}
    return top, members


def test_stub_matches_the_module():
    top, members = stub_names()
    public = {n for n in dir(rrx) if not n.startswith("_")}
    assert top == public
    for cls, names in members.items():
        real = {n for n in dir(getattr(rrx, cls)) if not n.startswith("_")} | (
            {"__init__", "__enter__", "__exit__"} & names)
        if issubclass(getattr(rrx, cls), Exception):
            continue
        if issubclass(getattr(rrx, cls), tuple):  # struct sequences: fields only
            real = set(getattr(rrx, cls).__match_args__)
        assert names == real, cls


def test_everything_has_a_docstring():
    assert rrx.__doc__ and rrx.record.__doc__
    for name in dir(rrx):
        obj = getattr(rrx, name)
        if name.startswith("_") or not isinstance(obj, type):
            continue
        assert obj.__doc__, name
        for member in dir(obj):
            if not member.startswith("_") and callable(getattr(obj, member)):
                assert getattr(obj, member).__doc__, f"{name}.{member}"
