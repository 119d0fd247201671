"""An import-linter contract type, `load_time`: loading a module never loads the forbidden ones.

import-linter's own contracts count every import, also those inside functions; this one follows only the
imports Python runs when a module is loaded (those at the top of modules, outside any function), so it
checks what `nnlearn --help` and `nnlearn validate` pay for: TensorFlow is imported inside the functions
that train or evaluate, and at load time only by the modules allowed to.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache

from importlinter import Contract, ContractCheck, fields, output


@cache
def _load_time_lines(module: str) -> frozenset[int]:
    """The line numbers of the import statements a module runs when it is loaded."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return frozenset()
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    lines: set[int] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs only when called
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                lines.add(child.lineno)
            visit(child)

    visit(tree)
    return frozenset(lines)


class LoadTimeContract(Contract):
    """No module under source_modules (but allowed_modules) loads a forbidden module when it is loaded,
    directly or through the modules it loads."""

    source_modules = fields.ListField(subfield=fields.ModuleField())
    forbidden_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField(), required=False, default=[])

    def _within(self, module: str, roots) -> bool:
        return any(module == root.name or module.startswith(root.name + ".") for root in roots)

    def _loads(self, graph, module: str) -> list[str]:
        lines = _load_time_lines(module)
        return sorted(imported for imported in graph.find_modules_directly_imported_by(module)
                      if any(detail["line_number"] in lines
                             for detail in graph.get_import_details(importer=module, imported=imported)))

    def check(self, graph, verbose: bool) -> ContractCheck:
        chains = []
        sources = sorted(module for module in graph.modules if self._within(module, self.source_modules)
                         and not self._within(module, self.allowed_modules))
        for source in sources:
            chain = self._first_chain(graph, source)
            if chain:
                chains.append(chain)
        return ContractCheck(kept=not chains, metadata={"chains": chains})

    def _first_chain(self, graph, source: str) -> list[str] | None:
        """The shortest chain of load-time imports from source to a forbidden module, if any."""
        paths, queue = {source: [source]}, [source]
        while queue:
            module = queue.pop(0)
            for imported in self._loads(graph, module) if module.startswith(self.source_modules[0].name) else []:
                if imported in paths:
                    continue
                paths[imported] = paths[module] + [imported]
                if self._within(imported, self.forbidden_modules):
                    return paths[imported]
                queue.append(imported)
        return None

    def render_broken_contract(self, check: ContractCheck) -> None:
        for chain in check.metadata["chains"]:
            output.print_error(f"{chain[0]} loads {chain[-1]} when it is loaded:", bold=True)
            output.print_error("    " + " -> ".join(chain))
            output.new_line()
