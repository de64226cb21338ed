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


def _joblib_loads(path: Path) -> bool:
    """joblib is scikit-learn's parallel runner too; only its load (and dump) touch pickles."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "joblib":
            if any(a.name not in ("parallel_config", "Parallel", "delayed") for a in node.names):
                return True
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "joblib" for a in node.names):
            return True  # the whole module: joblib.load would be one attribute away
    return False


def test_nothing_unpickles():
    code = list((ROOT / "engage").rglob("*.py")) + [ROOT / "streamlit_app.py"]
    offenders = [str(p) for p in code if {"pickle", "dill"} & _imports(p) or _joblib_loads(p)
                 or "allow_pickle=True" in p.read_text(encoding="utf-8")]
    assert not offenders


def test_the_pickle_check_catches_a_joblib_load(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from joblib import load\n", encoding="utf-8")
    fine = tmp_path / "fine.py"
    fine.write_text("from joblib import parallel_config\n", encoding="utf-8")
    assert _joblib_loads(bad) and not _joblib_loads(fine)


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_each_shared_name_is_defined_once_and_each_literal_list_written_once():
    engine = sorted((ROOT / "engage").rglob("*.py"))
    for name in ("METRIC_COLUMNS", "DEFAULT_MAX_TOKENS", "METRICS", "METHODS", "log_trace", "loadable_handle",
                 "module_folder"):
        where = [str(p.relative_to(ROOT)) for p in engine if name in _top_level_names(p)]
        assert len(where) == 1, f"{name} is defined in {where}"
    assert not [p for p in engine if "resolve_handle" in _top_level_names(p)]  # it did two jobs under one name
    literals = {'"accuracy", "precision", "recall", "f1"': "engage/metrics.py",
                '"best_f1", "target_precision"': "engage/thresholds.py"}
    for literal, home in literals.items():
        where = [str(p.relative_to(ROOT)) for p in engine if literal in p.read_text(encoding="utf-8")]
        assert where == [home], f"{literal} is written out in {where}"
    assert not [p for p in engine if "logging.FileHandler" in p.read_text(encoding="utf-8")
                and p.name != "trace_log.py"]


def test_the_cli_reads_its_defaults_from_their_owners_without_loading_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from engage.cli import build_parser; p = build_parser(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules)); "
            "train = next(a for a in p._actions if a.dest == 'command').choices['train']; "
            "print({a.dest: a.help for a in train._actions}['epochs'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout.splitlines()
    from engage.head.config import HeadConfig

    assert out == ["[]", f"default {HeadConfig().epochs}"]


def _imported_modules(path: Path) -> set[str]:
    """Every module name an import in the file names, in full (`a.b.c`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _leans_on_tests(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "sys.path" in text or any(m == "tests" or m.startswith("tests.") for m in _imported_modules(path))


def test_benchmarks_import_nothing_from_the_tests_and_leave_sys_path_alone():
    """What a benchmark shares with the tests lives in engage/testing/, so `.venv/bin/python bench/NAME.py` works
    without editing sys.path."""
    bench = sorted((ROOT / "bench").glob("*.py"))
    assert bench and not [str(p) for p in bench if _leans_on_tests(p)]


def test_the_bench_check_catches_a_tests_import_and_a_path_edit(tmp_path):
    for i, code in enumerate(["from tests.e2e.conftest import start_app\n", "import sys\nsys.path.insert(0, '.')\n",
                              "import tests.fixtures\n"]):
        (tmp_path / f"bad{i}.py").write_text(code, encoding="utf-8")
        assert _leans_on_tests(tmp_path / f"bad{i}.py"), code
    (tmp_path / "fine.py").write_text("from engage.testing.browser import start_app\n", encoding="utf-8")
    assert not _leans_on_tests(tmp_path / "fine.py")


def test_the_product_never_imports_the_testing_helpers():
    product = [p for p in (ROOT / "engage").rglob("*.py") if "testing" not in p.relative_to(ROOT / "engage").parts]
    product.append(ROOT / "streamlit_app.py")
    offenders = [str(p) for p in product if any(m.startswith("engage.testing") for m in _imported_modules(p))]
    assert not offenders
