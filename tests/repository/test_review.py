"""What HA's and HACS's validators and a core reviewer check in the repository itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import tomllib

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "zego_digital_human"


def test_license_file_is_the_apache_2_text_pyproject_names() -> None:
    """HACS validation fails without a licence file; it must be the licence pyproject declares."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # The full text: all nine sections, not a one-line notice.
    for section in range(1, 10):
        assert f"\n   {section}. " in text


def test_iot_class_says_the_cloud_is_polled() -> None:
    """ZEGO pushes nothing to HA: the task status is polled, so the class is cloud_polling."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["iot_class"] == "cloud_polling"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "cloud polling" in readme
    assert "cloud push" not in readme.lower()
    assert "cloud_push" not in (INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8")


def _local_imports(path: Path, package: str) -> set[str]:
    """Modules of `package` that `path` imports, TYPE_CHECKING-only imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
    if module.endswith(".__init__"):
        module = module.removesuffix(".__init__")
        parts = module.split(".")
    else:
        parts = module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            for candidate in [target, *names]:
                if candidate.startswith(package):
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package))
    return found


def _module_graph(package_dir: Path) -> dict[str, set[str]]:
    package = package_dir.relative_to(ROOT).as_posix().replace("/", ".")
    modules: dict[str, Path] = {}
    for path in package_dir.rglob("*.py"):
        name = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = {target for target in _local_imports(path, package) if target in modules}
        # A package importing its own submodules is how packages re-export: not a circle.
        graph[name] = {target for target in edges if not target.startswith(f"{name}.")}
        graph[name].discard(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("package_dir", "must_hold"),
    [
        (INTEGRATION, "custom_components.zego_digital_human.coordinator"),
        (ROOT / "zego_emulator", "zego_emulator.server"),
    ],
    ids=["integration", "emulator"],
)
def test_no_import_circles(package_dir: Path, must_hold: str) -> None:
    """Imports go one way, counting imports made only for type checking."""
    graph = _module_graph(package_dir)
    assert must_hold in graph
    assert _cycles(graph) == []


def test_coordinator_lives_in_coordinator_py() -> None:
    """common-modules: the coordinator and the entry's runtime data are in coordinator.py."""
    tree = ast.parse((INTEGRATION / "coordinator.py").read_text(encoding="utf-8"))
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    assert {"AvatarCoordinator", "ZegoRuntimeData"} <= classes
    assert not (INTEGRATION / "avatar.py").exists()


def _rules() -> dict[str, dict[str, str]]:
    data = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))
    rules: dict[str, dict[str, str]] = data["rules"]
    return rules


def test_quality_scale_names_existing_modules() -> None:
    """Every module a rule's comment names exists in the integration."""
    for rule, body in _rules().items():
        comment = str(body.get("comment", "")) if isinstance(body, dict) else ""
        for word in comment.replace("(", " ").replace(")", " ").replace(",", " ").split():
            if word.endswith(".py"):
                where = ROOT / "tests" / "components" if word.startswith("test_") else INTEGRATION
                assert (where / word).exists(), f"{rule} names {word}"


def test_quality_scale_is_honest_about_the_client() -> None:
    """The client lives inside the integration, not on PyPI: dependency-transparency is not met."""
    rules = _rules()
    assert rules["dependency-transparency"]["status"] == "todo"
    assert "PyPI" in rules["dependency-transparency"]["comment"]
    assert "coordinator.py" in rules["common-modules"]["comment"]
    # The client is async, but it is no separate library the rule could grade.
    assert rules["async-dependency"]["status"] == "todo"
    # The options flow (the players' settings) is documented field by field in the README.
    assert rules["docs-configuration-parameters"]["status"] == "done"
    options = json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for label in options["options"]["step"]["init"]["data"].values():
        assert f"| {label} |" in readme, f"README does not describe the option {label!r}"
