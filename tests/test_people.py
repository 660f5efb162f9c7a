"""People: faces clustered into people incrementally, named, merged, and listed by person.

Descriptors here are made-up vectors placed around a few centres (the clustering is what is tested);
the real descriptors on real faces are measured by benchmarks/faces_people.py and tested in
tests/test_faces_people.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from culler.api import ScoreResult
from culler.decide.people import cluster, pairwise_scores, update_people

RNG = np.random.default_rng(0)
CENTRES = {name: RNG.normal(0, 1, 128) for name in ("anna", "ben", "carla")}
for key in CENTRES:  # descriptors of different people lie about 1 apart, of one person within 0.4
    CENTRES[key] = CENTRES[key] / np.linalg.norm(CENTRES[key]) * 0.75


def descriptor(name: str) -> list[float]:
    return list(CENTRES[name] + RNG.normal(0, 0.02, 128))


def add_photo(catalog, folder, name: str, people: list[str], eyes: list[str] | None = None) -> int:
    with catalog.transaction():
        pid = catalog.upsert_photo(str(folder / f"{name}.jpg"), str(folder), 1, 1)
    pk = catalog.scorer_pk("faces", "3")
    faces = [
        {
            "box": [200 * i, 10, 100, 100],
            "descriptor": descriptor(p),
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
