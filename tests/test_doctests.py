"""Run the examples written in the modules' docstrings (``>>>``), as installed.

Every module of ``ailab_books.plugins``, ``ailab_books.queries`` and
``ailab_books.benchmarks`` is imported by its installed name and its doctests
run; a module's example that stops matching its code fails here. The plugins'
before/after *ledger* examples are run by their own tests (test_allocate.py,
test_classify.py), which load the "before" text and compare with the "after".
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("ailab_books.plugins", "ailab_books.queries", "ailab_books.benchmarks")


def _modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


MODULES = _modules()


def test_the_packages_have_modules_with_examples() -> None:
    examples = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        examples += sum(len(test.examples) for test in finder.find(importlib.import_module(name)))
    assert examples >= 3, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (run above)"
