"""Faces and people: one row per face a scorer found, and the people they belong to.

A scorer reports faces in ``ScoreResult.extra["faces"]`` (a list of dicts with at least ``box``:
x, y, w, h in pixels of the image it analysed, whose size is ``extra["size"]``); storing its score
replaces that scorer version's rows for the photo (:meth:`FacesMixin.replace_faces`, called by
``store_score``), so the faces table always matches the scores table. Verdicts stay in the JSON of
``scores.extra`` too; the rows are what lists, filters and ``culler show`` read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from culler.catalog.current import current_score
from culler.catalog.timestamps import now

if TYPE_CHECKING:  # numpy loads where a vector is read or written (`culler list` never does)
    import numpy as np

#: Verdicts the faces table accepts; anything else a plugin reports is stored as "unknown".
EYES = ("open", "closed", "unknown")
FOCUS = ("sharp", "soft", "motion", "unknown")

#: An SQL condition on a face row aliased ``f``: it comes from the current version of its scorer for its
#: photo (the version ``current_scores`` would show), looked up per face by key (:mod:`.current`).
CURRENT_FACE = "f.scorer_pk = " + current_score(
    "scorer_pk", "f.photo_id", "(SELECT scorer_id FROM scorers WHERE id = f.scorer_pk)"
)


class FacesMixin:
    conn: Any

    # -- written by the scan (inside store_score's transaction) ---------------------------------
    def replace_faces(
        self, photo_id: int, scorer_pk: int, faces: Iterable[dict[str, Any]], size: Any = None
    ) -> int:
        """Replace this scorer version's faces of the photo; returns how many were stored. A face
        where the photo had one before (any version, the boxes overlapping by half) keeps its
        person: a rescan never takes a named person's faces away."""
        before = self.conn.execute(
            "SELECT x, y, w, h, image_w, person_id FROM faces"
            " WHERE photo_id = ? AND person_id IS NOT NULL",
            [photo_id],
        ).fetchall()
        self.conn.execute(
            "DELETE FROM faces WHERE photo_id = ? AND scorer_pk = ?", [photo_id, scorer_pk]
        )
        image_w, image_h = _size(size)
        rows = []
        for index, face in enumerate(faces):
            box = face.get("box") if isinstance(face, dict) else None
            if not is_box(box):
                continue
            rows.append(
                (
                    photo_id,
                    scorer_pk,
                    index,
                    *(int(v) for v in box[:4]),
                    image_w,
                    image_h,
                    _number(face.get("confidence")),
                    1 if face.get("main", True) else 0,
                    json.dumps(face["eye_landmarks"]) if face.get("eye_landmarks") else None,
                    face.get("eyes") if face.get("eyes") in EYES else "unknown",
                    _number(face.get("eyes_confidence")),
                    face.get("focus") if face.get("focus") in FOCUS else "unknown",
                    _number(face.get("focus_confidence")),
                    _descriptor(face.get("descriptor")),
                    _same_face(box, image_w, before),
                )
            )
        self.conn.executemany(
            "INSERT INTO faces (photo_id, scorer_pk, face_index, x, y, w, h, image_w, image_h,"
            " confidence, main, landmarks, eyes, eyes_confidence, focus, focus_confidence,"
            " descriptor, person_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    # -- read ----------------------------------------------------------------------------------
    def photo_faces(self, photo_id: int) -> list[dict[str, Any]]:
        """The photo's faces from each scorer's current version (active first, then newest), in
        the scorer's order (largest first), with the person's name where one is assigned."""
        cursor = self.conn.execute(
            f"""
            SELECT sc.scorer_id, f.face_index, f.x, f.y, f.w, f.h, f.image_w, f.image_h,
                   f.confidence, f.main, f.eyes, f.eyes_confidence, f.focus, f.focus_confidence,
                   f.person_id, p.name AS person
            FROM faces f
            JOIN scorers sc ON sc.id = f.scorer_pk
            LEFT JOIN people p ON p.id = f.person_id
            WHERE f.photo_id = ? AND {CURRENT_FACE}
            ORDER BY sc.scorer_id, f.face_index
            """,
            [photo_id],
        )
        names = [d[0] for d in cursor.description]
        out = []
        for row in cursor.fetchall():
            face = dict(zip(names, row))
            face["box"] = [face.pop("x"), face.pop("y"), face.pop("w"), face.pop("h")]
            face["main"] = bool(face["main"])
            out.append(face)
        return out

    def face_counts(self, photo_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
        """Per photo, how many of its main faces (current scorer versions) show each verdict:
        ``faces``, ``eyes_open``, ``eyes_closed``, ``eyes_unknown``, ``sharp``, ``soft``,
        ``motion``."""
        sql = f"""
            SELECT f.photo_id, COUNT(*),
                   SUM(f.eyes = 'open'), SUM(f.eyes = 'closed'), SUM(f.eyes = 'unknown'),
                   SUM(f.focus = 'sharp'), SUM(f.focus = 'soft'), SUM(f.focus = 'motion')
            FROM faces f
            WHERE f.main = 1 AND {CURRENT_FACE}
        """
        params: list[Any] = []
        if photo_ids is not None:
            ids = list(photo_ids)
            if not ids:
                return {}
            sql += f" AND f.photo_id IN ({', '.join('?' * len(ids))})"
            params = ids
        sql += " GROUP BY f.photo_id"
        keys = ("faces", "eyes_open", "eyes_closed", "eyes_unknown", "sharp", "soft", "motion")
        return {
            row[0]: dict(zip(keys, (int(v or 0) for v in row[1:])))
            for row in self.conn.execute(sql, params)
        }

    def face_filter(
        self, person: int | None = None, eyes: str | None = None, focus: str | None = None
    ) -> tuple[str, list[Any]]:
        """An SQL condition on ``p.id`` (photos aliased ``p``): the photo has one face, from the
        current scorer versions, that matches every verdict given — the person's own face with
        ``person``, otherwise a main face (``eyes="closed"``, ``focus="soft"``)."""
        face, params = (["1"] if person is not None else ["f.main = 1"]), []
        for column, value in (("f.person_id", person), ("f.eyes", eyes), ("f.focus", focus)):
            if value is not None:
                face.append(f"{column} = ?")
                params.append(value)
        return (
            f"p.id IN (SELECT f.photo_id FROM faces f WHERE {' AND '.join(face)}"
            f" AND {CURRENT_FACE})",
            params,
        )

    def photos_with_faces(self, eyes: str | None = None, focus: str | None = None) -> set[int]:
        """Photos with at least one main face whose verdicts match (``eyes="closed"``,
        ``focus="soft"``), from the current scorer versions."""
        condition, params = self.face_filter(eyes=eyes, focus=focus)
        return {
            row[0]
            for row in self.conn.execute(f"SELECT p.id FROM photos p WHERE {condition}", params)
        }


class PeopleMixin:
    """People: clusters of faces (``faces.person_id``), named and merged by the photographer."""

    conn: Any

    def face_descriptors(self, assigned: bool) -> list[tuple[int, int | None, int, np.ndarray]]:
        """(face id, person id, photo id, descriptor) of the current faces with a descriptor, those
        already given a person (``assigned``) or those not yet."""
        cond = "f.person_id IS NOT NULL" if assigned else "f.person_id IS NULL"
        rows = self.conn.execute(
            "SELECT f.id, f.person_id, f.photo_id, f.descriptor FROM faces f"
            f" WHERE f.descriptor IS NOT NULL AND {cond} AND {CURRENT_FACE} ORDER BY f.id"
        ).fetchall()
        import numpy as np

        return [
            (fid, pid, photo, np.frombuffer(blob, dtype=np.float32))
            for fid, pid, photo, blob in rows
        ]

    def new_person(self) -> int:
        """A person without a name yet (inside the caller's transaction)."""
        return int(self.conn.execute("INSERT INTO people (created) VALUES (?)", [now()]).lastrowid)

    def assign_faces(self, assignments: Iterable[tuple[int, int]]) -> None:
        """Give faces (face id, person id) their person (inside the caller's transaction)."""
        self.conn.executemany(
            "UPDATE faces SET person_id = ? WHERE id = ?", [(p, f) for f, p in assignments]
        )

    def person_id(self, ref: str) -> int | None:
        """A person by id ("3") or name (exact, then ignoring case)."""
        if ref.strip().isdigit():
            row = self.conn.execute("SELECT id FROM people WHERE id = ?", [int(ref)]).fetchone()
            if row:
                return int(row[0])
        row = self.conn.execute(
            "SELECT id FROM people WHERE name = ? OR lower(name) = lower(?)"
            " ORDER BY name = ? DESC LIMIT 1",
            [ref, ref, ref],
        ).fetchone()
        return int(row[0]) if row else None

    def name_person(self, person_id: int, name: str) -> None:
        """Name a person; a name already given to another person is refused (merge them instead)."""
        other = self.conn.execute(
            "SELECT id FROM people WHERE lower(name) = lower(?) AND id != ?", [name, person_id]
        ).fetchone()
        if other:
            raise ValueError(
                f"{name!r} is already person {other[0]}: `culler people merge {other[0]} "
                f"{person_id}` makes them one"
            )
        self.conn.execute("UPDATE people SET name = ? WHERE id = ?", [name, person_id])

    def split_face(self, person_id: int, photo_id: int) -> int | None:
        """Take ``person_id``'s face in photo ``photo_id`` out of that person into a new person of
        its own (inside the caller's transaction): the new person's id, or None when the photo holds
        no face of theirs. An assigned face never moves again, so the clustering leaves it there."""
        row = self.conn.execute(
            "SELECT id FROM faces WHERE person_id = ? AND photo_id = ? ORDER BY id LIMIT 1",
            [person_id, photo_id],
        ).fetchone()
        if row is None:
            return None
        new = self.new_person()
        self.conn.execute("UPDATE faces SET person_id = ? WHERE id = ?", [new, row[0]])
        return new

    def merge_people(self, keep: int, other: int) -> int:
        """Move every face of ``other`` to ``keep`` and delete ``other``; returns the faces moved.
        ``keep`` takes ``other``'s name when it has none."""
        moved = self.conn.execute(
            "UPDATE faces SET person_id = ? WHERE person_id = ?", [keep, other]
        ).rowcount
        self.conn.execute(
            "UPDATE people SET name = (SELECT name FROM people WHERE id = ?)"
            " WHERE id = ? AND name IS NULL",
            [other, keep],
        )
        self.conn.execute("DELETE FROM people WHERE id = ?", [other])
        return int(moved)

    def people(self) -> list[dict[str, Any]]:
        """Every person with faces: id, name, photos, faces, and the representative face (the
        largest, most confidently detected one): its photo's path and box."""
        rows = self.conn.execute(
            f"""
            SELECT p.id, p.name, COUNT(DISTINCT f.photo_id), COUNT(f.id)
            FROM people p JOIN faces f ON f.person_id = p.id
            WHERE {CURRENT_FACE}
            GROUP BY p.id ORDER BY COUNT(DISTINCT f.photo_id) DESC, p.id
            """
        ).fetchall()
        out = []
        for pid, name, photos, faces in rows:
            best = self.conn.execute(
                "SELECT ph.path, f.x, f.y, f.w, f.h, f.image_w, f.image_h FROM faces f"
                f" JOIN photos ph ON ph.id = f.photo_id WHERE f.person_id = ? AND {CURRENT_FACE}"
                " ORDER BY (f.eyes = 'open') DESC, f.w * f.h * COALESCE(f.confidence, 0.5) DESC"
                " LIMIT 1",
                [pid],
            ).fetchone()
            out.append(
                {
                    "id": pid,
                    "name": name,
                    "photos": photos,
                    "faces": faces,
                    "face": {
                        "path": best[0],
                        "box": list(best[1:5]),
                        "image_size": [best[5], best[6]] if best[5] else None,
                    },
                }
            )
        return out

    def photos_of_person(self, person_id: int) -> set[int]:
        rows = self.conn.execute(
            f"SELECT DISTINCT f.photo_id FROM faces f WHERE f.person_id = ? AND {CURRENT_FACE}",
            [person_id],
        )
        return {r[0] for r in rows}


#: Two boxes of one photo (or of frames of one moment) hold the same face when they overlap this
#: much, intersection over union.
SAME_FACE_IOU = 0.5


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - ix * iy
    return ix * iy / union if union > 0 else 0.0


def _same_face(box: Any, image_w: int | None, before: list[tuple]) -> int | None:
    """The person of the earlier face at this place (boxes scaled to one image width first)."""
    for x, y, w, h, old_w, person in before:
        k = (image_w / old_w) if image_w and old_w else 1.0
        if box_iou((x * k, y * k, w * k, h * k), box) >= SAME_FACE_IOU:
            return int(person)
    return None


def _descriptor(values: Any) -> bytes | None:
    """A face descriptor as float32 bytes; None for anything that is not a finite vector."""
    if values is None:
        return None
    import numpy as np

    try:
        vec = np.asarray(values, dtype=np.float32).ravel()
    except (TypeError, ValueError):
        return None
    if not 8 <= vec.size <= 4096 or not np.isfinite(vec).all():
        return None
    return vec.tobytes()


def is_box(box: Any) -> bool:
    """Whether ``box`` is an (x, y, w, h) of finite numbers with a positive size."""
    return (
        isinstance(box, (list, tuple))
        and len(box) >= 4
        and all(isinstance(v, (int, float)) and v == v for v in box[:4])
        and box[2] > 0
        and box[3] > 0
    )


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def _size(size: Any) -> tuple[int | None, int | None]:
    if isinstance(size, (list, tuple)) and len(size) == 2:
        try:
            return int(size[0]), int(size[1])
        except (TypeError, ValueError):
            pass
    return None, None
