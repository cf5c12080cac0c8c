"""Small helpers for the LaTeX fragments the DAG writes (tables, macros, lists), and for numbers in its sentences."""

import math
import re

# A figure at its own size, shrunk only to fit the text block (the report loads adjustbox with `export`): enlarged to
# the text width, a one-panel figure's fonts would dwarf the text's; a figure of many cells could run off the page.
FIGURE_SIZE = r"max width=\linewidth,max totalheight=0.8\textheight"


def includegraphics(path):
    return rf"\includegraphics[{FIGURE_SIZE}]{{{path}}}"


MINUS = "\N{MINUS SIGN}"


def escape(text):
    """Text for LaTeX: its special characters escaped, a true minus sign as \\textminus (pdflatex has no U+2212)."""
    return re.sub(r"([&%$#_{}])", r"\\\1", str(text)).replace(MINUS, r"\textminus{}")


def text_number(value, spec=".1f"):
    """A number for a sentence or a label, with a true minus sign, as the tables typeset it."""
    return format(value, spec).replace("-", MINUS)


def plural(noun, n):
    """The noun for n of it: 'seed' for 1, 'seeds' otherwise (nouns that take an s)."""
    return noun if n == 1 else f"{noun}s"


def count(n, noun):
    """'5 seeds', '1 seed': a count in words for a sentence."""
    return f"{n:,} {plural(noun, n)}"


def and_list(items):
    """'A', 'A and B', 'A, B and C'."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def every(n, noun):
    """'every 10 epochs', 'every epoch'."""
    return f"every {noun}" if n == 1 else f"every {count(n, noun)}"


def camel(name):
    """'fashion_mnist' → 'FashionMnist' (LaTeX macro names take letters only)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z]+", name) if part)


def fmt(value, digits=1):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def num_pm(mean, err, digits=1):
    """siunitx value with uncertainty, or an em dash if there is none."""
    if mean is None or (isinstance(mean, float) and not math.isfinite(mean)):
        return "---"
    if err is None or (isinstance(err, float) and not math.isfinite(err)):
        return rf"\num{{{fmt(mean, digits)}}}"
    return rf"\num{{{fmt(mean, digits)} +- {fmt(err, digits)}}}"


def quoted_pm(mean, err):
    """A published value with its uncertainty, at the precision the paper printed (e.g. 121 ± 1.6)."""
    if mean is None:
        return "---"
    return rf"\num{{{mean} +- {err}}}"  # str() keeps the precision the data file (and the paper) wrote


def macro(name, value):
    return rf"\newcommand{{\{name}}}{{{value}}}"


def tabular(frame, column_format):
    """A booktabs table from a DataFrame of already formatted cells."""
    lines = [rf"\begin{{tabular}}{{{column_format}}}", r"\toprule", " & ".join(frame.columns) + r" \\", r"\midrule"]
    for row in frame.itertuples(index=False):
        if row[0] == "\\midrule" or row[0].startswith("\\multicolumn"):  # a line of its own, across the table
            lines.append(row[0] if row[0] == "\\midrule" else row[0] + r" \\")
            continue
        lines.append(" & ".join(str(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
