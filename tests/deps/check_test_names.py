#!/usr/bin/env python3
"""No test case name that ctest cannot run or Catch2 v2's console reporter cannot print.

A ";" in a name: catch_discover_tests reads the names as a CMake list, so the name becomes two
ctest tests whose filters match no test case, and both "pass" without running anything (nine
test cases, two of them cluster kill tests, ran nowhere that way until this check). The tests
also run with `--warn NoTests`, so a ctest test that matches no test case fails.

Why: when a test fails, the reporter prints its name wrapped at 79 columns, indenting the lines
after the first by the position just past the name's first ": " (ConsoleReporter::
printHeaderString). When that position is at or past the width, every continuation line has no
room and the reporter prints the same line forever: a failing cluster test once wrote 24 GB to
ctest, which the kernel killed for want of memory, so the whole suite stopped without saying
which test failed. A name whose first ": " leaves fewer than MIN_ROOM columns is refused here.

Usage: tests/deps/check_test_names.py [SOURCE_DIR]
Exit 0 when every name can be printed; 1 with one line per name that cannot.
"""

import glob
import os
import re
import sys

from report import report

WIDTH = 79  # Catch2 v2's CATCH_CONFIG_CONSOLE_WIDTH default, minus one
MIN_ROOM = 20
TEST_CASE = re.compile(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = []
    names = 0
    for path in sorted(glob.glob(os.path.join(root, "tests", "**", "*.cpp"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in TEST_CASE.finditer(text):
            names += 1
            name = "".join(LITERAL.findall(m.group(1)))
            if ";" in name:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{os.path.relpath(path, root)}:{line}: \"{name[:60]}...\" has a "
                                f"\";\", which splits it into two ctest tests that run nothing; "
                                f"use \",\" there")
            colon = name.find(": ")
            if colon < 0 or len(name) <= WIDTH:
                continue
            room = WIDTH - (colon + 2)
            if room < MIN_ROOM:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{os.path.relpath(path, root)}:{line}: the first \": \" of "
                                f"\"{name[:60]}...\" is at column {colon}, which leaves "
                                f"{room} columns to wrap the rest of the name in; use \",\" "
                                f"there")
    return report(problems, f"check_test_names: {names} test case names, each printable")


if __name__ == "__main__":
    sys.exit(main())
