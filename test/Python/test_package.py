"""The package's surface: stubs that match the extension, useful help, the
five lines of docs/Python.md."""
import ast
import pathlib
import pydoc

import numpy as np

import dync
from dync import _runtime


def _names(body):
    """Names a stub body declares: classes, functions, annotated names."""
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return names


def test_stubs_match_the_extension():
    stub = pathlib.Path(_runtime.__file__).with_name("_runtime.pyi")
    tree = ast.parse(stub.read_text())
    public = {name for name in dir(_runtime) if not name.startswith("_")}
    assert public and _names(tree.body) >= public, public - _names(tree.body)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in ("Model", "Session")):
        actual = {m for m in dir(getattr(_runtime, cls.name)) if not m.startswith("_")}
        assert _names(cls.body) >= actual, (cls.name, actual - _names(cls.body))


def test_help_is_useful():
    for thing, needle in [(dync.load, "Loads a compiled model library"),
                          (dync.compile, "Compiles a model into a model library"),
                          (dync.Model, "Call it with the inputs by name"),
                          (dync, "dync.compile")]:
        assert needle in pydoc.render_doc(thing)


def test_version():
    assert dync.__version__.count(".") == 2


def test_readme_five_lines(examples, tmp_path, monkeypatch):
    """The quick start of docs/Python.md, as a new user types it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "skip_mlp.json").write_bytes((examples / "skip_mlp.json").read_bytes())
    (tmp_path / "skip_mlp.safetensors").write_bytes((examples / "skip_mlp.safetensors").read_bytes())
    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "Python.md"
    text = doc.read_text()
    start = text.index("```python\n", text.index("## Five lines")) + len("```python\n")
    code = text[start:text.index("```", start)]
    scope = {}
    exec(compile(code, str(doc), "exec"), scope)
    assert isinstance(scope["y"], np.ndarray) and scope["y"].shape == (8, 64)
