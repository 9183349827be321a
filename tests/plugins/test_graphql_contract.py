"""Every GraphQL plugin's documents, checked against the vendor's schema with graphql-core.

Parametrised over the installed plugins whose contract is ``graphql``: by convention their
documents are listed in ``plugins.<slug>.queries.DOCUMENTS`` (the plugins' fakes refuse any
other document at the HTTP seam, so none can be sent without being checked here).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from importlib.metadata import entry_points

import graphql
import pytest

from atom.integrations.registry import GROUP
from atom.integrations.registry import discover
from tests.plugins.graphql_support import operation_name
from tests.plugins.graphql_support import vendor_schema


def _graphql_plugins():
    found = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        manifest = discover([(ep.name, ep)], strict=True).get(ep.name).manifest
        if manifest.contract is not None and manifest.contract.source == "graphql":
            found.append(manifest)
    return found


PLUGINS = _graphql_plugins()
DOCUMENTS = [pytest.param(m, d, id=f"{m.slug}.{operation_name(d)}")
             for m in PLUGINS for d in importlib.import_module(f"plugins.{m.slug}.queries").DOCUMENTS]


def test_the_graphql_plugins_are_found():
    assert {"linear", "monday"} <= {m.slug for m in PLUGINS}


@pytest.mark.parametrize("manifest, document", DOCUMENTS)
def test_every_document_validates_against_the_vendor_schema(manifest, document):
    errors = graphql.validate(vendor_schema(manifest.contract.file), graphql.parse(document))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("manifest", PLUGINS, ids=lambda m: m.slug)
def test_documents_are_named_operations_each_defined_once(manifest):
    documents = importlib.import_module(f"plugins.{manifest.slug}.queries").DOCUMENTS
    names = [operation_name(d) for d in documents]
    assert len(set(names)) == len(names) == len(set(documents))
    for document in documents:
        (operation,) = graphql.parse(document).definitions  # one operation, no fragments
        assert operation.operation.value in ("query", "mutation")


@pytest.mark.parametrize("manifest", PLUGINS, ids=lambda m: m.slug)
def test_no_graphql_document_is_written_outside_the_checked_list(manifest):
    queries = importlib.import_module(f"plugins.{manifest.slug}.queries")
    documents = [v for k, v in vars(queries).items()
                 if isinstance(v, str) and not k.startswith("_")
                 and re.match(r"\s*(query|mutation)\b", v)]
    assert set(documents) == set(queries.DOCUMENTS)
    source = inspect.getsource(importlib.import_module(f"plugins.{manifest.slug}.integration"))
    literals = [n.value for n in ast.walk(ast.parse(source))
                if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in literals if re.match(r"\s*(query|mutation)\s+\w+\s*[({]", s)]
