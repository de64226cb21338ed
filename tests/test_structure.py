"""The layout rules the project keeps: the engine never imports Streamlit; no pickle anywhere."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_engine_never_imports_streamlit():
    engine = [p for p in (ROOT / "engage").rglob("*.py") if "ui" not in p.relative_to(ROOT / "engage").parts]
    offenders = [str(p) for p in engine if "streamlit" in _imports(p)]
    assert engine and not offenders


def test_nothing_unpickles():
    code = list((ROOT / "engage").rglob("*.py")) + [ROOT / "streamlit_app.py"]
    offenders = [str(p) for p in code if {"pickle", "joblib", "dill"} & _imports(p)
                 or "allow_pickle=True" in p.read_text(encoding="utf-8")]
    assert not offenders
