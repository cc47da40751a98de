"""Bindings: the window's views bound to its controllers, one area each. A binding reads what
the user chose in a view, calls a controller, and hands the controller's signals to the views;
it decides nothing itself (the rules and texts live in the controllers and `app`).

* `tables.TablesBinding`   library rows and search results into the tables, empty texts
* `panel.PanelBinding`     the track panel follows the selection; Write and Play of it
* `dialogs.WindowDialogs`  the window's dialogs, opened and their outcome to a controller
"""

from app.gui.bindings.dialogs import WindowDialogs
from app.gui.bindings.panel import PanelBinding
from app.gui.bindings.tables import TablesBinding

__all__ = ["PanelBinding", "TablesBinding", "WindowDialogs"]
