"""The benchmark scripts' summaries: a file of runs, one line of figures (seconds) per run,
printed as median (min-max) per column."""

import statistics


def load(path):
    """The runs: a list of rows of floats."""
    return [list(map(float, line.split())) for line in open(path) if line.strip()]


def fig(rows, column):
    """`median s (min-max)` of one column."""
    xs = [r[column] for r in rows]
    return f"{statistics.median(xs):7.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def median_ratio(rows, column, reference):
    """The median over runs of column / reference, each run against its own reference."""
    return statistics.median(r[column] / r[reference] for r in rows)
