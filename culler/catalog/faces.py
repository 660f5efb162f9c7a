"""Faces and people: one row per face a scorer found, and the people they belong to.

A scorer reports faces in ``ScoreResult.extra["faces"]`` (a list of dicts with at least ``box``:
x, y, w, h in pixels of the image it analysed, whose size is ``extra["size"]``); storing its score
replaces that scorer version's rows for the photo (:meth:`FacesMixin.replace_faces`, called by
``store_score``), so the faces table always matches the scores table. Verdicts stay in the JSON of
``scores.extra`` too; the rows are what lists, filters and ``culler show`` read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: Verdicts the faces table accepts; anything else a plugin reports is stored as "unknown".
EYES = ("open", "closed", "unknown")
FOCUS = ("sharp", "soft", "motion", "unknown")


class FacesMixin:
    conn: Any

    # -- written by the scan (inside store_score's transaction) ---------------------------------
    def replace_faces(
        self, photo_id: int, scorer_pk: int, faces: Iterable[dict[str, Any]], size: Any = None
    ) -> int:
        """Replace this scorer version's faces of the photo; returns how many were stored."""
        self.conn.execute(
            "DELETE FROM faces WHERE photo_id = ? AND scorer_pk = ?", [photo_id, scorer_pk]
        )
        image_w, image_h = _size(size)
        rows = []
        for index, face in enumerate(faces):
            box = face.get("box") if isinstance(face, dict) else None
            if not _is_box(box):
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
                )
            )
        self.conn.executemany(
            "INSERT INTO faces (photo_id, scorer_pk, face_index, x, y, w, h, image_w, image_h,"
            " confidence, main, landmarks, eyes, eyes_confidence, focus, focus_confidence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    # -- read ----------------------------------------------------------------------------------
    def photo_faces(self, photo_id: int) -> list[dict[str, Any]]:
        """The photo's faces from each scorer's current version (active first, then newest), in
        the scorer's order (largest first), with the person's name where one is assigned."""
        cursor = self.conn.execute(
            """
            SELECT sc.scorer_id, f.face_index, f.x, f.y, f.w, f.h, f.image_w, f.image_h,
                   f.confidence, f.main, f.eyes, f.eyes_confidence, f.focus, f.focus_confidence,
                   f.person_id, p.name AS person
            FROM faces f
            JOIN current_scores cs ON cs.photo_id = f.photo_id AND cs.scorer_pk = f.scorer_pk
            JOIN scorers sc ON sc.id = f.scorer_pk
            LEFT JOIN people p ON p.id = f.person_id
            WHERE f.photo_id = ?
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
        sql = """
            SELECT f.photo_id, COUNT(*),
                   SUM(f.eyes = 'open'), SUM(f.eyes = 'closed'), SUM(f.eyes = 'unknown'),
                   SUM(f.focus = 'sharp'), SUM(f.focus = 'soft'), SUM(f.focus = 'motion')
            FROM faces f
            JOIN current_scores cs ON cs.photo_id = f.photo_id AND cs.scorer_pk = f.scorer_pk
            WHERE f.main = 1
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

    def photos_with_faces(self, eyes: str | None = None, focus: str | None = None) -> set[int]:
        """Photos with at least one main face whose verdicts match (``eyes="closed"``,
        ``focus="soft"``), from the current scorer versions."""
        sql = (
            "SELECT DISTINCT f.photo_id FROM faces f JOIN current_scores cs"
            " ON cs.photo_id = f.photo_id AND cs.scorer_pk = f.scorer_pk WHERE f.main = 1"
        )
        params: list[Any] = []
        if eyes is not None:
            sql += " AND f.eyes = ?"
            params.append(eyes)
        if focus is not None:
            sql += " AND f.focus = ?"
            params.append(focus)
        return {row[0] for row in self.conn.execute(sql, params)}


def _is_box(box: Any) -> bool:
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
