"""The app's look: Fusion with a dark palette (photos read best on dark grey)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4c8dff"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: #1e1f22; }}
#topBar {{ background: #26272b; border-bottom: 1px solid #34363b; }}
#searchBar {{
    background: #16171a; border: 1px solid #3a3c42; border-radius: 16px; min-height: 32px;
}}
#searchIcon {{ padding-left: 6px; }}
#searchEdit {{ background: transparent; color: #e8e9ec; font-size: 14px; padding: 4px 2px; }}
#imageChip {{
    background: #2f3b52; border: 1px solid {ACCENT}; border-radius: 12px; color: #e8e9ec;
}}
#imageChip QToolButton {{ color: #c8cbd2; border: none; font-weight: bold; padding: 0 4px; }}
#imageChip QToolButton:hover {{ color: white; }}
#sidePanel {{ background: #222327; border-right: 1px solid #34363b; }}
#panelTitle {{ color: #8c8f96; font-size: 11px; font-weight: bold; letter-spacing: 1px; }}
#foldersList, #tagsList {{ background: transparent; border: none; }}
#foldersList::item {{ padding: 6px 4px; border-radius: 6px; }}
#tagsList::item {{ padding: 2px 4px; border-radius: 4px; }}
#foldersList::item:selected, #tagsList::item:selected {{ background: #2f3b52; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: #44474e; border-radius: 4px; min-height: 30px; }}
QScrollBar::handle:vertical:hover {{ background: #5a5e66; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: none; }}
#moreBar {{ background: #222327; border-top: 1px solid #34363b; }}
#moreBar QLabel {{ color: #a4a7ae; }}
QPushButton {{
    background: #2d2f34; border: 1px solid #3d3f45; border-radius: 6px; padding: 5px 12px;
    color: #e2e3e6;
}}
QPushButton:hover {{ background: #35383e; }}
QPushButton:pressed {{ background: #2a2c30; }}
QPushButton:disabled {{ color: #6b6e75; }}
#toolButton {{ padding: 5px 10px; }}
QStatusBar {{ background: #26272b; color: #b9bcc2; border-top: 1px solid #34363b; }}
QStatusBar QLabel {{ padding: 0 6px; }}
#modelLabel, #resultsLabel {{ color: #8c8f96; }}
QProgressBar {{ background: #16171a; border: 1px solid #3a3c42; border-radius: 5px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QListView#resultsView {{ background: #1e1f22; }}
QLabel#preview {{ background: #141518; border-radius: 8px; color: #8c8f96; }}
QSplitter::handle {{ background: #34363b; }}
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1e1f22",
        QPalette.ColorRole.WindowText: "#e2e3e6",
        QPalette.ColorRole.Base: "#1a1b1e",
        QPalette.ColorRole.AlternateBase: "#2a2c31",
        QPalette.ColorRole.ToolTipBase: "#2d2f34",
        QPalette.ColorRole.ToolTipText: "#e2e3e6",
        QPalette.ColorRole.Text: "#e2e3e6",
        QPalette.ColorRole.PlaceholderText: "#8c8f96",
        QPalette.ColorRole.Button: "#2d2f34",
        QPalette.ColorRole.ButtonText: "#e2e3e6",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6e75"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6e75"))
    return palette


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
