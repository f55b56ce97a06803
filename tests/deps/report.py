"""How the source checks of tests/deps end: one line per problem, or one line saying all is
well; the exit code for ctest."""


def report(problems, all_well):
    """Prints `problems` (or `all_well` when there are none); 1 when there are, else 0."""
    for p in problems:
        print(p)
    if not problems:
        print(all_well)
    return 1 if problems else 0
