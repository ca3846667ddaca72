"""Every module imports on its own (catches missing dependencies and import cycles)."""
import importlib
import pkgutil

import pytest

PACKAGES = ["rag", "rag_ingest", "rag_eval", "rag_ui", "rag_app"]


def _modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            yield info.name


@pytest.mark.parametrize("module", sorted(set(_modules())))
def test_module_imports(module: str) -> None:
    importlib.import_module(module)
