"""The package's shape: modules import only downward (in the notebooks' order, which is the documented dependency
order), never another module's private names, and there is no import circle. Read from the exported sources with
`ast`, lazy imports inside functions included."""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_order() -> list:
    "Exported module names in notebook order (the `#| default_exp` of each numbered notebook)."
    order = []
    for nb in sorted((ROOT / "nbs").glob("[0-9]*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            m = re.search(r"#\|\s*default_exp\s+(\S+)", "".join(cell["source"]))
            if m:
                order.append(m.group(1))
                break
    return order


def lsrl_imports(module: str) -> list:
    "(imported module, names) for every import of an lsrl module in `lsrl/<module>.py`, at any depth."
    tree = ast.parse((ROOT / "lsrl" / f"{module}.py").read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1: target = node.module
            elif node.module and node.module.startswith("lsrl."): target = node.module[5:]
            else: continue
            out.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name[5:], []) for a in node.names if a.name.startswith("lsrl.")]
    return out


def test_every_module_is_in_the_order():
    order = module_order()
    exported = {p.stem for p in (ROOT / "lsrl").glob("*.py")} - {"__init__", "_modidx"}
    assert set(order) == exported, f"modules without a notebook or notebooks without a module: {set(order) ^ exported}"


def test_modules_import_only_downward_and_no_private_names():
    order = module_order()
    rank = {m: i for i, m in enumerate(order)}
    problems = []
    for m in order:
        for target, names in lsrl_imports(m):
            if target not in rank: continue     # `from . import __version__`
            if rank[target] >= rank[m]: problems.append(f"{m} imports {target} (not below it)")
            private = [n for n in names if n.startswith("_")]
            if private: problems.append(f"{m} imports private {private} from {target}")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_lazy_and_upward_imports(tmp_path):
    "The parser finds imports inside functions, so a lazy upward import could not hide from the test above."
    found = dict(lsrl_imports("trainer"))
    assert "modes" in found and "losses" in found
    assert any(t == "hrpo" for t, _ in lsrl_imports("evaluate"))   # imported inside a function
