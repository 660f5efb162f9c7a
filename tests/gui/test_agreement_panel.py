"""The Agreement tab: figures and disagreements one panel away; a disagreement opens the loupe."""

from __future__ import annotations

from pathlib import Path

from culler.testing import scan_into
from culler.testing.photographers import make_shoots


def test_the_agreement_tab_measures_and_opens_a_disagreement_in_the_loupe(
    window, qtbot, tmp_path: Path
):
    from culler.gui.culling import LOUPE

    shoots = make_shoots(tmp_path / "photos", shoots=2, moments=2, frames=3, side=256)
    catalog, _ = scan_into(tmp_path / "culler.db", tmp_path / "photos", ["technical"])
    ids = {Path(r["path"]): r["id"] for r in catalog.readable_photos()}
    for shoot in shoots:  # the photographer kept the last frame of each burst
        for moment in shoot.moments:
            for i, frame in enumerate(moment):
                keep = i == len(moment) - 1
                catalog.rate(
                    ids[frame.path.resolve()], decision="pick" if keep else "reject", source="gui"
                )
    catalog.close()
    assert window.open_catalog(tmp_path / "culler.db")
    panel = window.agreement_panel
    assert window.details.indexOf(panel) >= 0
    panel.measure.click()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=60_000)
    report = panel.report
    assert report.overall["groups"] == 4 and report.overall["photos_judged"] == 12
    assert panel.figures["top1"].text() != "–"
    assert panel.table.rowCount() == len(report.disagreements)
    assert report.disagreements  # these shoots are fixed: culler's firsts are not all theirs
    wanted = int(report.disagreements[0]["photo_id"])
    panel.open_row(0)
    assert window.views.currentIndex() == LOUPE
    assert window.current_id() == wanted


def test_a_catalog_without_decisions_says_what_to_do(window, qtbot, scanned):
    assert window.open_catalog(scanned)
    panel = window.agreement_panel
    panel.measure.click()
    qtbot.waitUntil(lambda: panel.report is not None, timeout=60_000)
    assert "no photo with your decisions" in panel.status.text()
    assert panel.table.rowCount() == 0
