"""A bug found while killing report.py's mutants (issue 18), fixed after these tests showed it: ``_latex``
escaped only columns whose dtype is ``object``, and pandas 3 gives text columns its ``str`` dtype, so a
method, suite, budget or fairness text with ``_``, ``%``, ``&``, ``#`` or ``\\`` went into the .tex table
raw and broke LaTeX. (No published .tex table had such a character.)"""

import pandas as pd

from hyperion_bench.report import render, render_paper_table


def test_latex_cells_of_a_plain_text_column_are_escaped():
    """A table built the ordinary way (pandas picks the text dtype): the method name must come out escaped."""
    table = pd.DataFrame({"suite": ["toy"], "method": ["random_search"], "fairness": ["budget 50% & more"]})
    assert render(table, "latex").splitlines()[4] == "toy & random\\_search & budget 50\\% \\& more \\\\"


def test_latex_paper_table_escapes_method_names():
    table = pd.DataFrame({"suite": ["toy"], "method": ["mo_random"], "n_seeds": [1]})
    assert render_paper_table(table, None, "latex").splitlines()[4] == "toy & mo\\_random & 1 \\\\"
