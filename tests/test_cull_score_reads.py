"""The whole-archive cull's reads (issue #32): scores read by key instead of through the
``current_scores`` window view, and the plan written as plain lines when not on a terminal. Both
must give exactly what they replaced."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from culler.catalog import open_catalog, score_json
from culler.validate import printable


def test_scores_read_by_key_are_the_views_rows(tmp_path):
    catalog = open_catalog(tmp_path / "culler.db")
    try:
        catalog.insert_signed_photos(
            [(f"/s/p{i}.jpg", "/s", None, "", f"h{i}", None) for i in range(6)]
        )
        ids = [r[0] for r in catalog.execute("SELECT id FROM photos ORDER BY id")]
        tech1 = catalog.scorer_pk("technical", "1.0")
        tech2 = catalog.scorer_pk("technical", "2.0")  # newer, made active below
        clip_old = catalog.scorer_pk("clip", "1.0")
        clip_new = catalog.scorer_pk("clip", "1.1")
        mine = catalog.scorer_pk("aesthetic", "1.0")
        catalog.activate_scorer(tech1)  # the older version is the active one
        with catalog.transaction() as conn:
            conn.execute("UPDATE scorers SET active = 0 WHERE scorer_id = 'clip'")  # neither
            rows = []
            for k, pid in enumerate(ids):
                rows.append((pid, tech2, k / 10, '{"sharp": 1}', '["soft"]'))
                if k % 2:
                    rows.append((pid, tech1, k / 5, None, None))
                if k % 3:
                    rows.append((pid, clip_old, k / 7, None, '["old"]'))
                if k % 3 == 1:
                    rows.append((pid, clip_new, None, '{"tags": []}', None))
                if k == 4:
                    rows.append((pid, mine, 0.5, None, None))
            conn.executemany(
                "INSERT INTO scores (photo_id, scorer_pk, score, extra, reasons, created)"
                " VALUES (?, ?, ?, ?, ?, 't')",
                rows,
            )

        view = [
            (pid, sid, score, score_json.load(e) if e else {}, score_json.load(r) if r else [])
            for pid, sid, score, e, r in catalog.execute(
                "SELECT photo_id, scorer_id, score, extra, reasons FROM current_scores"
                " ORDER BY photo_id, scorer_id"
            )
        ]
        read = list(catalog.current_score_rows(ids))
        assert read == view
        # The active older technical version wins where it scored; the newer one elsewhere; of two
        # inactive clip versions the newest; a photo's scorers in scorer-id order.
        by = {(pid, sid): score for pid, sid, score, _, _ in read}
        assert by[(ids[1], "technical")] == 1 / 5 and by[(ids[2], "technical")] == 2 / 10
        assert by[(ids[1], "clip")] is None and by[(ids[2], "clip")] == 2 / 7
        assert [sid for pid, sid, *_ in read if pid == ids[4]] == ["aesthetic", "clip", "technical"]
        assert list(catalog.current_score_rows(ids[:2])) == [r for r in read if r[0] in ids[:2]]
    finally:
        catalog.close()


def _rich_lines(plan, verb: str) -> str:
    """The plan's lines as rich prints them with the markup the terminal path uses."""
    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    console.print(
        "\n".join(
            f"{verb}{p.decision:<6} {escape(printable(p.path))}  "
            f"[dim]{escape(printable(p.reason))}[/dim]"
            for p in plan
        ),
        markup=True,
    )
    return out.getvalue()


def test_the_plan_written_as_plain_lines_is_what_rich_would_print(capsys):
    from culler.commands.cull import _print_plan
    from culler.decide.cull import Proposal, summarize

    names = [
        "/shoot/[b]IMG_0001[/b].jpg",
        "/shoot/a:smile:b.jpg",  # an emoji code is a name, not an emoji
        "/shoot/\\[dim]x.jpg",
        "/shoot/tab\there.jpg",
        "/shoot/esc\x1b[31mred.jpg",
        "/shoot/日本語の写真 — ünïcödé.jpg",
        "/shoot/" + "long" * 60 + ".jpg",  # longer than any terminal: never wrapped
        "/shoot/trailing space .jpg",
    ]
    plan = [
        Proposal(i, name, "reject", f"burst of 3 (#{i}): soft [focus] :x:", 4.0)
        for i, name in enumerate(names)
    ]
    _print_plan(plan, summarize(plan), True, 0)
    out = capsys.readouterr().out
    expected = _rich_lines(plan, "would ")
    assert out.startswith(expected)
    assert "would reject /shoot/a:smile:b.jpg  burst of 3 (#1): soft [focus] :x:" in out
    assert "\x1b" not in out  # control characters shown as escapes, never sent
