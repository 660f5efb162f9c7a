"""The culling keyboard map: one table, used by the key handler and by the Help ▸ Keys dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt

Key = Qt.Key
#: Lightroom's colour labels on 6–9.
LABELS = ("red", "yellow", "green", "blue")

#: (key, modifiers) -> (action name, argument)
KEYMAP: dict[tuple[int, Qt.KeyboardModifier], tuple[str, object]] = {
    (Key.Key_P, Qt.KeyboardModifier.NoModifier): ("decide", "pick"),
    (Key.Key_X, Qt.KeyboardModifier.NoModifier): ("decide", "reject"),
    (Key.Key_U, Qt.KeyboardModifier.NoModifier): ("decide", "none"),
    **{(getattr(Key, f"Key_{n}"), Qt.KeyboardModifier.NoModifier): ("stars", n) for n in range(6)},
    (Key.Key_Z, Qt.KeyboardModifier.ControlModifier): ("undo", None),
    (Key.Key_Space, Qt.KeyboardModifier.NoModifier): ("toggle_loupe", None),
    (Key.Key_Return, Qt.KeyboardModifier.NoModifier): ("toggle_loupe", None),
    (Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier): ("toggle_loupe", None),
    (Key.Key_Escape, Qt.KeyboardModifier.NoModifier): ("grid", None),
    (Key.Key_C, Qt.KeyboardModifier.NoModifier): ("compare", None),
    (Key.Key_S, Qt.KeyboardModifier.NoModifier): ("toggle_stack", None),
    (Key.Key_Z, Qt.KeyboardModifier.NoModifier): ("zoom", None),
    (Key.Key_O, Qt.KeyboardModifier.NoModifier): ("overlay", None),
    (Key.Key_T, Qt.KeyboardModifier.NoModifier): ("tag", None),
    **{
        (getattr(Key, f"Key_{n}"), Qt.KeyboardModifier.NoModifier): ("colour_label", name)
        for n, name in zip(range(6, 10), LABELS)
    },
    (Key.Key_Left, Qt.KeyboardModifier.NoModifier): ("step", -1),
    (Key.Key_Right, Qt.KeyboardModifier.NoModifier): ("step", 1),
    (Key.Key_Home, Qt.KeyboardModifier.NoModifier): ("first", None),
    (Key.Key_End, Qt.KeyboardModifier.NoModifier): ("last", None),
    (Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): (
        "redo",
        None,
    ),
    (Key.Key_Y, Qt.KeyboardModifier.ControlModifier): ("redo", None),
    (Key.Key_A, Qt.KeyboardModifier.NoModifier): ("accept", None),
    (Key.Key_A, Qt.KeyboardModifier.ShiftModifier): ("accept_all", None),
    (Key.Key_N, Qt.KeyboardModifier.NoModifier): ("next_undecided", 1),
    (Key.Key_N, Qt.KeyboardModifier.ShiftModifier): ("next_undecided", -1),
    (Key.Key_P, Qt.KeyboardModifier.ShiftModifier): ("flag_filter", "pick"),
    (Key.Key_X, Qt.KeyboardModifier.ShiftModifier): ("flag_filter", "reject"),
    (Key.Key_U, Qt.KeyboardModifier.ShiftModifier): ("flag_filter", "unflagged"),
    (Key.Key_R, Qt.KeyboardModifier.ShiftModifier): ("flag_filter", "proposals"),
}

#: Keys that move the focus out of a text field (the search box) back to the photos.
LEAVE_TEXT = {Key.Key_Escape, Key.Key_Return, Key.Key_Enter, Key.Key_Down}
#: Digits typed faster than this apart are someone typing a number, not rating (seconds).
TYPING_GAP = 0.6

#: Arrow keys are the grid's own (it moves the selection); the map uses them only in the loupe/compare.
GRID_NATIVE = {Key.Key_Left, Key.Key_Right, Key.Key_Up, Key.Key_Down}

HELP = (
    ("← → ↑ ↓", "move (in compare: choose the photo)"),
    ("P / X / U", "pick / reject / unflag"),
    ("0 – 5", "stars"),
    ("6 / 7 / 8 / 9", "colour label red / yellow / green / blue (again: remove)"),
    ("Space, Enter", "loupe ↔ grid"),
    ("Z, double-click", "loupe: fit ↔ 100 % at the cursor; wheel zooms, drag pans"),
    ("O", "overlay: where the scorers measured sharpness, motion blur, faces and eyes"),
    ("T", "tag the selection by hand (awe, -fear): what the emotion tag head learns from"),
    ("C", "compare the selected photos, or the current stack"),
    ("P in compare", "pick this one over the others (recorded for training)"),
    ("S", "expand / collapse the burst stack"),
    ("A / Shift+A", "accept the cull's proposal here / every proposal shown"),
    ("N / Shift+N", "next / previous undecided photo (unflagged or only proposed)"),
    ("Shift+P / X / U / R", "show only picks / rejects / unflagged / proposals (again: all)"),
    ("Home / End", "first / last photo"),
    ("Esc", "back to the grid"),
    ("Ctrl+Z", "undo the last rating (a whole cull run is one step)"),
    ("Ctrl+Shift+Z, Ctrl+Y", "redo"),
    ("Ctrl+K", "cull: propose picks and rejects with a reason each"),
    ("Ctrl+E / Ctrl+Shift+E", "export the picks / write XMP sidecars"),
    ("Ctrl+F", "search; Esc, Enter or ↓ go back to the photos"),
    ("Ctrl + / Ctrl −", "bigger / smaller thumbnails"),
)


def lookup(key: int, modifiers: Qt.KeyboardModifier) -> tuple[str, object] | None:
    mods = modifiers & (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.ShiftModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.MetaModifier
    )
    if key == Key.Key_Enter:
        return KEYMAP[(Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)]
    return KEYMAP.get((key, mods))
