"""Views: modules that only create and lay out widgets and expose them and their signals.

The main window (`app.gui.main_window`) builds these, binds their signals to the controllers
(`app.gui.controllers`) and applies what the controllers report. A view decides nothing: it
never imports a controller, the window, a worker, the `app` facade or `zsl_core`
(tests/test_layers.py), so what it shows is given to it.

* `library_page.LibraryPage`   the Library tab: filter box over the track table
* `results_page.ResultsPage`   the Search results tab: a line about the search over the hits
* `search_box.SearchBox`       the toolbar's search field
* `main_area.MainArea`         the welcome page or the tabs beside the track panel
* `scan_status.ScanStatus`     the status bar's scan line, progress bar, Cancel and "working…"
* `selection`                  a table's selected and current track ids
"""

from app.gui.views.library_page import LibraryPage
from app.gui.views.main_area import MainArea
from app.gui.views.results_page import ResultsPage
from app.gui.views.scan_status import ScanStatus
from app.gui.views.search_box import SearchBox

__all__ = ["LibraryPage", "MainArea", "ResultsPage", "ScanStatus", "SearchBox"]
