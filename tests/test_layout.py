"""Deployment files stay in step with the code they launch."""

from __future__ import annotations

from pathlib import Path

import yaml

from leadlake.cli import JOBS
from leadlake.pipeline import STAGE_NAMES

REPO = Path(__file__).resolve().parents[1]


def test_every_job_has_a_spark_submit_entry_point():
    for spec in JOBS:
        script = REPO / "jobs" / f"{spec.name.replace('-', '_')}.py"
        assert script.is_file(), f"{script} missing"
        assert f'job_entry("{spec.name}")' in script.read_text()


def test_conf_and_infra_yaml_parse_and_point_at_real_files():
    for path in [*REPO.glob("conf/**/*.yaml"), *REPO.glob("infra/**/*.yaml"), *REPO.glob("infra/**/*.yml")]:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    for manifest in REPO.glob("infra/kubernetes/sparkapplication-*.yaml"):
        app = yaml.safe_load(manifest.read_text())
        main_file = app["spec"]["mainApplicationFile"].replace("local:///opt/leadlake/", "")
        assert (REPO / main_file).is_file(), manifest
    for conf_name in ("cluster", "databricks", "gpu"):
        profile = yaml.safe_load((REPO / "conf" / f"{conf_name}.yaml").read_text())["spark"]["profile"]
        assert (REPO / "conf" / "spark" / f"{profile}.yaml").is_file()


def test_the_bundle_runs_every_stage_of_the_pipeline_in_order_from_the_wheel():
    bundle = yaml.safe_load((REPO / "infra/databricks/databricks.yml").read_text())
    tasks = bundle["resources"]["jobs"]["leadlake_pipeline"]["tasks"]
    stages = []
    for i, task in enumerate(tasks):
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == "leadlake" and wheel["entry_point"] == "leadlake"
        params = wheel["parameters"]
        assert params[:2] == ["run", "--only"] and "--lakehouse" in params and "--conf" in params
        stages.append(params[2])
        assert task["libraries"] == [{"whl": "../../dist/*.whl"}]
        if i:
            assert task["depends_on"] == [{"task_key": tasks[i - 1]["task_key"]}]
    assert stages == [s for s in STAGE_NAMES if s != "demo-data"]
    assert {"dev", "prod"} <= set(bundle["targets"])
    vacuum = bundle["resources"]["jobs"]["leadlake_vacuum"]
    assert vacuum["tasks"][0]["python_wheel_task"]["parameters"][0] == "vacuum" and vacuum["schedule"]
    assert bundle["artifacts"]["leadlake_wheel"]["type"] == "whl"
    demo = bundle["targets"]["dev"]["resources"]["jobs"]["leadlake_demo"]["tasks"][0]["python_wheel_task"]
    assert demo["parameters"][0] == "demo"


def test_every_stage_has_a_notebook_in_databricks_source_format():
    notebooks = sorted((REPO / "notebooks").glob("*.py"))
    for nb in notebooks:
        text = nb.read_text()
        assert text.startswith("# Databricks notebook source"), nb
        assert "from leadlake.pipeline import run_stages" in text, nb
        for widget in ("lakehouse", "conf", "as_of"):
            assert f'dbutils.widgets.text("{widget}"' in text, (nb, widget)
    by_stage = {nb.stem.split("_", 1)[1].replace("_", "-"): nb for nb in notebooks}
    assert set(by_stage) == {"overview", *STAGE_NAMES}
    for stage in STAGE_NAMES:
        assert f'run_stages(spark, ["{stage}"]' in by_stage[stage].read_text()


def test_the_readme_documents_every_catalogued_table_and_stage():
    from leadlake.catalog import TABLES

    readme = (REPO / "README.md").read_text()
    for name in TABLES:
        assert f"`{name}`" in readme, name
    for stage in STAGE_NAMES:
        assert f"`{stage}`" in readme, stage


DOMAINS = ("leads", "clv", "needs", "reco", "campaigns", "generate", "report")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in a file."""
    import ast

    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out += [(node.module, id(node) in top)]
    return out


def test_domains_share_code_through_the_common_layer_only():
    """leads/, clv/, needs/ ... import leadlake's shared modules, never each other; the shared layer imports none."""
    crossings = []
    for path in sorted((REPO / "leadlake").rglob("*.py")):
        parts = path.relative_to(REPO / "leadlake").parts
        home = parts[0] if len(parts) > 1 and parts[0] in DOMAINS else None
        if parts[0] in ("jobs", "pipeline.py", "cli.py", "demo"):
            continue  # the entry points and the demo generator wire domains together by design
        for module, _ in _imports(path):
            names = module.split(".")
            if names[0] == "leadlake" and len(names) > 1 and names[1] in DOMAINS and names[1] != home:
                crossings.append(f"{path.relative_to(REPO)} imports {module}")
    assert not crossings, "\n".join(crossings)


def test_udfs_import_only_leaf_modules_and_are_built_lazily():
    """Executor code never drags in the library's DataFrame code, and the library loads udfs/ only to build a UDF."""
    allowed = ("leadlake.errors", "leadlake.text.encoders", "leadlake.text.language")
    for path in sorted((REPO / "udfs").glob("*.py")):
        bad = [m for m, _ in _imports(path) if m.startswith("leadlake") and m not in allowed]
        assert not bad, f"{path.name} imports {bad}"
    for path in sorted((REPO / "leadlake").rglob("*.py")):
        eager = [m for m, top in _imports(path) if top and m.split(".")[0] == "udfs"]
        assert not eager, f"{path.relative_to(REPO)} imports {eager} at module level"
