#!/usr/bin/env python3
"""The edges between the libraries hold: what a library's public headers bring into whoever
includes them is what its place in the dependency graph allows (issue 21, "edges that hold").

Checked, following the project's own #include "bazaar/..." lines transitively (each resolved in
the include directories of the checkout):
  - no public header of the runtime (runtime/include) or of the gateway (gateway/include)
    reaches a libpqxx header (<pqxx/...>): the runtime knows no SQL; PostgreSQL lives in
    persistence/pg and is linked PRIVATE where it is used;
  - no header of the domain (actors/domain/include) reaches CAF, libpqxx, Pistache or the
    runtime: the rules know no actor, SQL or HTTP;
  - no code of the runtime (runtime/, comments aside) names the shop's orders (order_id,
    order_status, order_grain, ...) or its domain: the runtime knows grains, not what they are;
  - no file of the gateway (headers and sources) includes a persistence header itself: it
    reads the read side through the interface bazaar/domain/read_side.hpp (the runtime's own
    storage interfaces, which its headers include, are the runtime's business);
  - no file of the runtime includes a header of the PostgreSQL library (persistence/pg) but
    the outbox relay's, which reads the outbox table: cluster membership and the projections
    reach PostgreSQL through their storage roles (membership_store.hpp,
    projection_store.hpp), which the node fills with persistence/pg's implementations;
  - bazaar_cluster does not link bazaar_pg (runtime/CMakeLists.txt).

Usage: tests/deps/check_edges.py [SOURCE_DIR]
Exit 0 when they hold; 1 with one line per header that breaks one, and the chain of includes
that leads to the forbidden one.
"""

import glob
import os
import re
import sys

from report import report

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

RULES = [
    # (files under these directories, forbidden system include prefixes, forbidden project
    #  include prefixes, followed transitively?, why)
    (["runtime/include", "gateway/include"], ["pqxx/"], [], True,
     "the runtime and the gateway know no SQL"),
    (["actors/domain/include"], ["caf/", "pqxx/", "pistache/"], ["bazaar/runtime/"], True,
     "the domain knows no actor, SQL or HTTP"),
    (["gateway/include", "gateway/src"], ["pqxx/"], ["bazaar/persistence/"], False,
     "the gateway reads the read side through bazaar/domain/read_side.hpp"),
]


def include_dirs(root):
    dirs = []
    for path in glob.glob(os.path.join(root, "**", "include"), recursive=True):
        rel = os.path.relpath(path, root)
        if rel.startswith(("build", ".")) or "/build" in rel:
            continue
        if os.path.isdir(os.path.join(path, "bazaar")):
            dirs.append(path)
    return dirs


def resolve(name, dirs):
    for d in dirs:
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def includes(path, cache):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            cache[path] = INCLUDE.findall(f.read())
    return cache[path]


def first_violation(header, dirs, system_bad, project_bad, transitive, cache):
    """The chain of includes from `header` to a forbidden one, or None."""
    seen = {header}
    stack = [(header, [header])]
    while stack:
        path, chain = stack.pop()
        for kind, name in includes(path, cache):
            if kind == "<" and any(name.startswith(p) for p in system_bad):
                return chain + ["<" + name + ">"]
            if kind != '"' or not name.startswith("bazaar/"):
                continue
            if any(name.startswith(p) for p in project_bad):
                return chain + [name]
            target = resolve(name, dirs)
            if transitive and target is not None and target not in seen:
                seen.add(target)
                stack.append((target, chain + [target]))
    return None


# Code (comments cut off) of these directories must not match: the runtime names no order.
NAMES = [("runtime", re.compile(r"\border_\w+|\borders?\b|\bdomain::|bazaar/domain/|bazaar/actors/"),
          "the runtime names no order and knows no domain")]


def code_lines(path):
    """The lines of a source file with // comments cut off (a string holding // is cut too:
    that only makes the check see less)."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            yield number, line.split("//", 1)[0]


# The one runtime file that may speak to PostgreSQL itself.
PG_ALLOWED = {"runtime/kafka/outbox_relay.cpp"}


def pg_headers(root):
    """The project include names of the PostgreSQL library's headers."""
    top = os.path.join(root, "persistence", "pg", "include")
    return sorted("bazaar/" + os.path.relpath(p, os.path.join(top, "bazaar"))
                  for p in glob.glob(os.path.join(top, "bazaar", "**", "*.hpp"), recursive=True))


def runtime_pg_problems(root, cache):
    """Runtime files (but the relay) that include a persistence/pg header, and a cluster
    library that links bazaar_pg."""
    problems = []
    bad = set(pg_headers(root))
    files = [p for ext in ("hpp", "cpp")
             for p in glob.glob(os.path.join(root, "runtime", "**", "*." + ext), recursive=True)]
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        if rel in PG_ALLOWED:
            continue
        for kind, name in includes(path, cache):
            if kind == '"' and name in bad:
                problems.append(f"{rel}: the runtime reaches PostgreSQL through its storage "
                                f"roles, but it includes {name}")
    with open(os.path.join(root, "runtime", "CMakeLists.txt"), encoding="utf-8") as f:
        cmake = f.read()
    for m in re.finditer(r"target_link_libraries\(\s*bazaar_cluster\b([^)]*)\)", cmake):
        if re.search(r"\bbazaar_pg\b", m.group(1)):
            problems.append("runtime/CMakeLists.txt: bazaar_cluster links bazaar_pg; its "
                            "membership comes through persistence::membership_store")
    return problems, len(files) + 1


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    dirs = include_dirs(root)
    cache = {}
    problems, checked = runtime_pg_problems(root, cache)
    for top, forbidden, why in NAMES:
        for ext in ("hpp", "cpp"):
            for path in sorted(glob.glob(os.path.join(root, top, "**", "*." + ext), recursive=True)):
                checked += 1
                for number, code in code_lines(path):
                    m = forbidden.search(code)
                    if m:
                        problems.append(f"{os.path.relpath(path, root)}:{number}: {why}, but it "
                                        f"says {m.group(0)}")
    for tops, system_bad, project_bad, transitive, why in RULES:
        for top in tops:
            files = glob.glob(os.path.join(root, top, "**", "*.hpp"), recursive=True)
            if top.endswith("/src"):
                files += glob.glob(os.path.join(root, top, "**", "*.cpp"), recursive=True)
            for header in sorted(files):
                checked += 1
                chain = first_violation(header, dirs, system_bad, project_bad, transitive, cache)
                if chain:
                    shown = [os.path.relpath(c, root) if os.path.isabs(c) else c for c in chain]
                    problems.append(f"{shown[0]}: {why}, but it reaches {shown[-1]} through "
                                    + " -> ".join(shown))
    return report(problems, f"check_edges: {checked} files checked, every edge holds")


if __name__ == "__main__":
    sys.exit(main())
