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
}

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
    ("Esc", "back to the grid"),
    ("Ctrl+Z", "undo the last rating"),
    ("Ctrl+F", "search"),
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
