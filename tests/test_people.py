"""People: faces clustered into people incrementally, named, merged, and listed by person.

Descriptors here are made-up vectors placed around a few centres (the clustering is what is tested);
the real descriptors on real faces are measured by benchmarks/faces_people.py and tested in
tests/test_faces_people.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from culler.api import ScoreResult
from culler.decide.people import (
    JOIN,
    LATE_JOIN,
    LATE_MIN_FACES,
    cluster,
    pairwise_scores,
    update_people,
)

RNG = np.random.default_rng(0)
CENTRES = {name: RNG.normal(0, 1, 128) for name in ("anna", "ben", "carla")}
for key in CENTRES:  # descriptors of different people lie about 1 apart, of one person within 0.4
    CENTRES[key] = CENTRES[key] / np.linalg.norm(CENTRES[key]) * 0.75


def descriptor(name: str) -> list[float]:
    return list(CENTRES[name] + RNG.normal(0, 0.02, 128))


def add_photo(
    catalog,
    folder,
    name: str,
    people: list[str],
    eyes: list[str] | None = None,
    vectors: list[np.ndarray] | None = None,
) -> int:
    """A scored photo with a face of each of ``people`` (their descriptors, or ``vectors``)."""
    with catalog.transaction():
        pid = catalog.upsert_photo(str(folder / f"{name}.jpg"), str(folder), 1, 1)
    pk = catalog.scorer_pk("faces", "3")
    faces = [
        {
            "box": [200 * i, 10, 100, 100],
            "descriptor": descriptor(p) if vectors is None else list(vectors[i]),
            "main": True,
            "eyes": (eyes or ["open"] * len(people))[i],
            "focus": "sharp",
            "confidence": 0.9,
        }
        for i, p in enumerate(people)
    ]
    with catalog.transaction():
        catalog.store_score(
            pid, pk, ScoreResult(score=10.0, extra={"faces": faces, "size": [1024, 683]}), "faces"
        )
    return pid


def test_faces_become_people_and_a_later_scan_only_adds(catalog, tmp_path):
    add_photo(catalog, tmp_path, "a1", ["anna", "ben"])
    add_photo(catalog, tmp_path, "a2", ["anna", "ben"])
    add_photo(catalog, tmp_path, "a3", ["anna", "carla"])
    counts = update_people(catalog)
    # Carla's one face waits for a second one before she becomes a person.
    assert counts == {"joined": 0, "new_people": 2, "waiting": 1}
    people = {p["photos"]: p for p in catalog.people()}
    assert set(people) == {3, 2}  # Anna in three photos, Ben in two
    anna = people[3]["id"]
    with catalog.transaction():
        catalog.name_person(anna, "Anna")
    # The JSON keeps no descriptor (it is a BLOB in the faces table).
    assert "descriptor" not in str(catalog.query("SELECT extra FROM scores"))

    add_photo(catalog, tmp_path, "b1", ["anna", "carla"])
    counts = update_people(catalog)
    assert counts["joined"] == 1 and counts["new_people"] == 1  # Anna joined; Carla now twice
    named = next(p for p in catalog.people() if p["name"] == "Anna")
    assert named["id"] == anna and named["photos"] == 4


def test_a_rescore_keeps_each_face_s_person(catalog, tmp_path):
    pid = add_photo(catalog, tmp_path, "a1", ["anna", "ben"])
    add_photo(catalog, tmp_path, "a2", ["anna", "ben"])
    update_people(catalog)
    before = {f["box"][0]: f["person_id"] for f in catalog.photo_faces(pid)}
    add_photo(catalog, tmp_path, "a1", ["anna", "ben"])  # the same photo scored again
    assert {f["box"][0]: f["person_id"] for f in catalog.photo_faces(pid)} == before


def test_people_commands_name_merge_and_list_by_person(catalog, tmp_path, culler_cli):
    db = tmp_path / "culler.db"
    add_photo(catalog, tmp_path, "a1", ["anna"])
    add_photo(catalog, tmp_path, "a2", ["anna"], eyes=["closed"])
    add_photo(catalog, tmp_path, "b1", ["ben"])
    add_photo(catalog, tmp_path, "b2", ["ben"])
    update_people(catalog)
    listed = culler_cli.json("people", "--db", db, "--json")
    assert sorted(p["photos"] for p in listed) == [2, 2]
    first, second = (p["id"] for p in listed)
    out = culler_cli("people", "--db", db, "name", str(first), "Anna").output
    assert f"person {first} is Anna" in out
    refused = culler_cli("people", "--db", db, "name", str(second), "anna", expect=1).output
    assert "already person" in refused and "merge" in refused
    anna_photos = culler_cli.json("list", "--db", db, "--person", "Anna", "--json")
    assert len(anna_photos) == 2
    blinks = culler_cli.json("list", "--db", db, "--person", "anna", "--eyes", "closed", "--json")
    assert [r["path"].rsplit("/", 1)[1] for r in blinks] == ["a2.jpg"]
    # --db goes before or after the subcommand.
    out = culler_cli("people", "merge", "Anna", str(second), "--db", db).output
    assert f"merged person {second} into {first}: 2 faces moved" in out
    assert [p["photos"] for p in culler_cli.json("people", "--db", db, "--json")] == [4]
    missing = culler_cli("list", "--db", db, "--person", "Zoe", expect=1).output
    assert "no person 'Zoe'" in missing and "culler people" in missing


def test_a_wrongly_joined_face_is_split_out_and_stays_out(catalog, tmp_path, culler_cli):
    db = tmp_path / "culler.db"
    for name in ("a1", "a2", "a3"):
        add_photo(catalog, tmp_path, name, ["anna"])
    update_people(catalog)
    (anna,) = culler_cli.json("people", "--db", db, "--json")
    culler_cli("people", "--db", db, "name", str(anna["id"]), "Anna")
    photo = tmp_path / "a3.jpg"
    out = culler_cli("people", "--db", db, "split", "Anna", str(photo)).output
    new = int(out.rsplit("person ", 1)[1])
    assert f"no longer person {anna['id']}'s" in out
    listed = {p["id"]: p["photos"] for p in culler_cli.json("people", "--db", db, "--json")}
    assert listed == {anna["id"]: 2, new: 1}
    # A later scan's clustering leaves an assigned face where it was put.
    add_photo(catalog, tmp_path, "a4", ["anna"])
    update_people(catalog)
    (face,) = catalog.photo_faces(catalog.photo_by_path(str(photo))["id"])
    assert face["person_id"] == new
    # Nothing of Anna's left in that photo; a photo outside the catalog: each says what to do.
    again = culler_cli("people", "--db", db, "split", "Anna", str(photo), expect=1).output
    assert "holds no face of person" in again and "culler show" in again
    missing = culler_cli("people", "--db", db, "split", "Anna", str(tmp_path / "x.jpg"), expect=1)
    assert "not in the catalog" in missing.output and "culler scan" in missing.output


def test_people_crops_are_written_inside_the_folder_given(catalog, tmp_path, culler_cli):
    from PIL import Image

    db = tmp_path / "culler.db"
    for name in ("a1", "a2"):
        Image.new("RGB", (1024, 683), (120, 90, 80)).save(tmp_path / f"{name}.jpg")
        add_photo(catalog, tmp_path, name, ["anna"])
    update_people(catalog)
    out = tmp_path / "crops"
    (person,) = culler_cli.json("people", "--db", db, "--json", "--crops", out)
    crop = Image.open(person["crop"])
    # The 100 px face at (0, 10) with a 30 px margin, cut off by the photo's top-left corner.
    assert crop.size == (130, 140)
    assert person["crop"] == str((out / f"person-{person['id']}.jpg").resolve())


def test_cluster_and_pairwise_scores():
    vectors = np.stack([CENTRES[n] + RNG.normal(0, 0.02, 128) for n in ["anna"] * 3 + ["ben"] * 2])
    groups = sorted(sorted(g) for g in cluster(vectors))
    assert groups == [[0, 1, 2], [3, 4]]
    assert pairwise_scores(["a", "a", "b"], [1, 1, 2]) == (1.0, 1.0)
    assert pairwise_scores(["a", "a", "b"], [1, 1, 1]) == pytest.approx((1 / 3, 1.0))
    assert pairwise_scores(["a", "a", "b"], [1, None, 2]) == (1.0, 0.0)


def test_two_faces_of_one_photo_are_never_one_person(catalog, tmp_path):
    # Two look-alikes (the same centre: twins, or children the descriptor cannot tell apart) in
    # one photo, then twice more apart: they stay two people, and a later photo of one of them
    # joins a person without putting the pair together.
    add_photo(catalog, tmp_path, "twins", ["anna", "anna"])
    add_photo(catalog, tmp_path, "one", ["anna"])
    update_people(catalog)
    for person in catalog.people():
        photos = catalog.photos_of_person(person["id"])
        assert person["faces"] == len(photos), "one person twice in one photo"
    add_photo(catalog, tmp_path, "later", ["anna", "anna"])
    update_people(catalog)
    for person in catalog.people():
        assert person["faces"] == len(catalog.photos_of_person(person["id"]))
    assert sum(p["faces"] for p in catalog.people()) >= 4


def test_cluster_keeps_faces_of_one_photo_apart():
    same = [CENTRES["anna"] + RNG.normal(0, 0.02, 128) for _ in range(4)]
    vectors = np.stack(same)
    assert sorted(len(g) for g in cluster(vectors)) == [4]  # without photos: one person
    groups = cluster(vectors, photos=["p1", "p1", "p2", "p3"])
    for members in groups:
        assert len({["p1", "p1", "p2", "p3"][i] for i in members}) == len(members)
    assert sorted(len(g) for g in groups) == [1, 3]


def _axis(k: int) -> np.ndarray:
    e = np.zeros(128)
    e[k] = 1.0
    return e


# One person seen four times, the faces' mean exactly at Anna's centre; one more face of hers (a
# laugh, say) 0.53 from that mean: beyond JOIN of the mean and of every face, within LATE_JOIN.
SEEN = [CENTRES["anna"] + s * 0.1 * _axis(k) for k in (0, 1) for s in (1, -1)]
LAUGH = CENTRES["anna"] + 0.53 * _axis(5)


def test_a_face_beyond_join_joins_a_well_seen_person_within_late_join():
    assert JOIN < 0.53 < LATE_JOIN and len(SEEN) >= LATE_MIN_FACES
    assert min(np.linalg.norm(LAUGH - v) for v in SEEN) > JOIN
    for order in ([0, 1, 2, 3, 4], [4, 0, 1, 2, 3], [2, 4, 0, 3, 1]):
        vectors = np.stack([(SEEN + [LAUGH])[i] for i in order])
        assert [len(g) for g in cluster(vectors)] == [5], order
        # The rule before: the laugh stays alone.
        assert sorted(len(g) for g in cluster(vectors, late_join=None)) == [1, 4]


def test_late_joins_only_to_well_seen_people_within_late_join_and_never_twice_in_a_photo():
    # Seen twice only: a mean of two faces is no steadier than a face, so the laugh waits.
    two = np.stack(SEEN[:2] + [LAUGH])
    assert sorted(len(g) for g in cluster(two)) == [1, 2]
    # Someone else just beyond LATE_JOIN of the mean stays apart.
    other = CENTRES["anna"] + (LATE_JOIN + 0.03) * _axis(5)
    assert sorted(len(g) for g in cluster(np.stack(SEEN + [other]))) == [1, 4]
    # The laugh in a photo that already holds Anna is someone else.
    groups = cluster(np.stack(SEEN + [LAUGH]), photos=["p1", "p2", "p3", "p4", "p2"])
    assert sorted(len(g) for g in groups) == [1, 4]
    # Two lone faces 0.53 apart never pair up on the late rule (only JOIN makes a new person).
    pair = np.stack([CENTRES["ben"], CENTRES["ben"] + 0.53 * _axis(7)])
    assert sorted(len(g) for g in cluster(pair)) == [1, 1]


def test_a_later_scan_s_late_face_joins_the_named_person_without_reshuffling(catalog, tmp_path):
    for i, vec in enumerate(SEEN):
        add_photo(catalog, tmp_path, f"a{i}", ["anna"], vectors=[vec])
    for i, sign in enumerate((1, -1)):  # Ben twice, his faces' mean exactly at his centre
        add_photo(
            catalog, tmp_path, f"b{i}", ["ben"], vectors=[CENTRES["ben"] + sign * 0.1 * _axis(0)]
        )
    assert update_people(catalog)["new_people"] == 2
    anna = next(p["id"] for p in catalog.people() if p["faces"] == len(SEEN))
    with catalog.transaction():
        catalog.name_person(anna, "Anna")
    before = {p["id"]: p["faces"] for p in catalog.people()}
    add_photo(catalog, tmp_path, "laugh", ["anna"], vectors=[LAUGH])
    counts = update_people(catalog)
    assert counts == {"joined": 1, "new_people": 0, "waiting": 0}
    after = {p["id"]: p["faces"] for p in catalog.people()}
    assert after == {**before, anna: len(SEEN) + 1}
    # Ben, seen twice, takes no late face: one 0.53 from his mean waits for a second one.
    ben = next(pid for pid in before if pid != anna)
    add_photo(catalog, tmp_path, "b3", ["ben"], vectors=[CENTRES["ben"] + 0.53 * _axis(9)])
    assert update_people(catalog)["waiting"] == 1
    assert {p["id"]: p["faces"] for p in catalog.people()}[ben] == 2


# Anna again, four faces round a centre 0.53 from SEEN's mean, each of them 0.57 from it (beyond
# LATE_JOIN: no face on its own would join her), within JOIN of each other.
AGAIN = [CENTRES["anna"] + 0.53 * _axis(5) + s * 0.2 * _axis(k) for k in (2, 3) for s in (1, -1)]


def test_clusters_within_late_join_of_a_well_seen_one_join_it():
    assert all(np.linalg.norm(v - CENTRES["anna"]) > LATE_JOIN for v in AGAIN)
    vectors = np.stack(SEEN + AGAIN)
    assert [len(g) for g in cluster(vectors)] == [8]
    assert sorted(len(g) for g in cluster(vectors, late_join=None)) == [4, 4]
    # Not when they share a photo, nor when neither is seen three times; a pair joins a well-seen
    # cluster as a lone face does.
    photos = ["a", "b", "c", "d", "a", "e", "f", "g"]
    assert sorted(len(g) for g in cluster(vectors, photos=photos)) == [4, 4]
    assert sorted(len(g) for g in cluster(np.stack(SEEN[:2] + AGAIN[:2]))) == [2, 2]
    assert [len(g) for g in cluster(np.stack(SEEN + AGAIN[:2]))] == [6]


def test_a_later_scan_s_cluster_within_late_join_of_a_named_person_grows_her(catalog, tmp_path):
    for i, vec in enumerate(SEEN):
        add_photo(catalog, tmp_path, f"a{i}", ["anna"], vectors=[vec])
    update_people(catalog)
    (anna,) = (p["id"] for p in catalog.people())
    with catalog.transaction():
        catalog.name_person(anna, "Anna")
    for i, vec in enumerate(AGAIN):
        add_photo(catalog, tmp_path, f"b{i}", ["anna"], vectors=[vec])
    assert update_people(catalog) == {"joined": 4, "new_people": 0, "waiting": 0}
    (person,) = catalog.people()
    assert person["id"] == anna and person["name"] == "Anna" and person["faces"] == 8
