"""How many results the window asks for, and the "Show more" bar under the grid.

A search first asks for one page. "Show more" first reveals results the grid held back
(they scored far below the best), and only then asks the library for twice as many;
an answer to such a request is shown whole, without the cut-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.gui.jobs import SearchOutcome
    from clipdesk.gui.results_model import ResultsModel
    from clipdesk.gui.results_view import MoreBar

__all__ = ["ResultsPager"]


class ResultsPager:
    """The results' page size and the more bar (see the module docstring)."""

    def __init__(
        self, model: ResultsModel, more_bar: MoreBar, page_size: Callable[[], int]
    ) -> None:
        self._model = model
        self._more_bar = more_bar
        self._page_size = page_size  # read at each new search: the settings may change
        self.k = page_size()
        self._expand_next = False
        self._last_outcome: SearchOutcome | None = None

    def reset(self) -> None:
        """A new query or new filters: back to the first page."""
        self.k = self._page_size()
        self._expand_next = False

    def more(self) -> bool:
        """Show held-back results, else ask for more: True when a new search is needed."""
        if self._model.hidden:
            self._model.show_more()
            return False
        self.k *= 2
        self._expand_next = True
        return True

    def show(self, outcome: SearchOutcome) -> None:
        """Fill the grid with ``outcome``'s hits (all of them after "Show more")."""
        self._last_outcome = outcome
        self._model.set_hits(outcome.hits, cutoff=not self._expand_next, scored=outcome.scored)
        self._expand_next = False

    def update_bar(self) -> None:
        outcome = self._last_outcome
        shown, total = self._model.rowCount(), self._model.total
        can_fetch = outcome is not None and outcome.fetched >= outcome.request.k
        if not shown or (shown == total and not can_fetch):
            self._more_bar.hide()
            return
        if shown < total:
            text = f"Showing the {shown:,} best of {total:,}; the rest scored much lower."
        else:
            text = f"Showing {shown:,} results."
        self._more_bar.label.setText(text)
        self._more_bar.show()
