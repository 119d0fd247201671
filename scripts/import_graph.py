"""Figures about nnlearn's import graph, as a reviewer counts them (grimp, the library import-linter uses):

    python scripts/import_graph.py [CHECKOUT]    (another checkout of nnlearn, e.g. an older commit's worktree)

- modules per package;
- import levels: the longest chain of imports between nnlearn's modules (all imports, cycles collapsed);
- cycles: groups of modules that import each other, with every import and with load-time imports only;
- imports inside functions: nnlearn-to-nnlearn imports written inside a function, outside cli/;
- the modules a run folder passes through on `train --from`: those on its path (the command line and every
  module training.train imports) that name RunDir.
"""

from __future__ import annotations

import ast
import collections
import importlib.util
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _inside_function_lines(module: str) -> tuple[set[int], set[int], ast.AST]:
    """(lines of imports inside functions, lines of imports at load time, the module's tree)."""
    path = importlib.util.find_spec(module).origin
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    inside, top = set(), set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (inside if in_function else top).add(child.lineno)
            visit(child, function)

    visit(tree, False)
    return inside, top, tree


def _levels(edges: dict[str, set[str]]) -> int:
    """The longest chain in the graph after collapsing each cycle into one node."""
    components = _cycles(edges, all_groups=True)
    group_of = {module: index for index, group in enumerate(components) for module in group}
    dag = collections.defaultdict(set)
    for module, targets in edges.items():
        for target in targets:
            if group_of[module] != group_of[target]:
                dag[group_of[module]].add(group_of[target])
    depth: dict[int, int] = {}

    def longest(node):
        if node not in depth:
            depth[node] = 1 + max((longest(child) for child in dag[node]), default=0)
        return depth[node]

    return max(longest(node) for node in range(len(components)))


def _cycles(edges: dict[str, set[str]], all_groups: bool = False) -> list[list[str]]:
    """Strongly connected components (Tarjan); only those of two or more modules unless all_groups."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in list(edges):
        if node not in index:
            connect(node)
    return groups if all_groups else [group for group in groups if len(group) > 1]


def main() -> None:
    import grimp

    graph = grimp.build_graph("nnlearn")
    modules = sorted(graph.modules)
    edges, load_edges = {m: set() for m in modules}, {m: set() for m in modules}
    inside_count, total_count, rundir_users = 0, 0, set()
    for module in modules:
        inside, top, tree = _inside_function_lines(module)
        if any(isinstance(node, ast.Name) and node.id == "RunDir" for node in ast.walk(tree)):
            rundir_users.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            edges[module].add(imported)
            lines = {detail["line_number"] for detail in graph.get_import_details(importer=module,
                                                                                  imported=imported)}
            if lines & top:
                load_edges[module].add(imported)
            if not module.startswith("nnlearn.cli"):
                total_count += len(lines)
                inside_count += len(lines & inside)
    packages = collections.Counter()
    for module in modules:
        parts = module.split(".")
        if module == "nnlearn" or parts[-1] == "__main__" or any(m.startswith(module + ".") for m in modules):
            continue  # the package itself (its __init__) and `python -m nnlearn`
        packages[parts[1] if len(parts) > 2 else "(top)"] += 1
    print("modules per package:", ", ".join(f"{name} {count}" for name, count in sorted(packages.items())))
    print("import levels:", _levels(edges))
    print("cycles (every import):", _cycles(edges) or "none")
    print("cycles (load-time imports):", _cycles(load_edges) or "none")
    print(f"imports between nnlearn's modules outside cli/: {total_count}, inside functions: {inside_count} "
          f"({inside_count / max(total_count, 1):.0%})")
    training, cli = (("nnlearn.training.train", "nnlearn.cli.train_command") if "nnlearn.training.train" in modules
                     else ("nnlearn.training", "nnlearn.cli"))  # the flat layout of older commits
    path = graph.find_upstream_modules(training) | {training, cli}
    touched = sorted(module for module in rundir_users if module in path)
    print(f"modules that name RunDir: {len(rundir_users)}; on train --from's path (the train command and what "
          f"training.train imports): {len(touched)}: " + ", ".join(m.removeprefix("nnlearn.") for m in touched))

if __name__ == "__main__":
    main()
