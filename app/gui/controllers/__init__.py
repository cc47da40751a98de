"""Controllers: QObjects without widgets that hold the window's workflows (library, scan and
import, search, tagging, playback, albums, the model in use, where the window was left) and
talk only to the Qt-free `app` facade.

The layout TagStudio uses: views (`app.gui.views`, `app.gui.main_window` and the widget
modules) assemble widgets
and bind their signals to controller slots; controllers do the work through worker threads and
report back with signals the views apply. A controller never touches a widget, so tests drive it
by its signals alone (tests/app/gui/controllers/).
"""

from app.gui.controllers.albums import AlbumsController
from app.gui.controllers.library import LibraryController
from app.gui.controllers.model_choice import ModelController
from app.gui.controllers.playback import PlaybackController
from app.gui.controllers.scan import ScanController
from app.gui.controllers.search import SearchController
from app.gui.controllers.tagging import TaggingController
from app.gui.controllers.window_state import WindowState

__all__ = [
    "AlbumsController",
    "LibraryController",
    "ModelController",
    "PlaybackController",
    "ScanController",
    "SearchController",
    "TaggingController",
    "WindowState",
]
