"""The PySide6 desktop GUI. Qt is imported only inside this package."""
