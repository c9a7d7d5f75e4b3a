"""Shot list CSV export/import and Fountain screenplay import: previews that save nothing,
per-row errors, update mode without duplicates, encodings, junk, and byte-for-byte
round trips."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orders import production_import as imports
from orders.models import Asset, Episode, ImportBatch, Order, OrderEvent, Shot
from studio.errors import Conflict, InvalidInput, NotPermitted
from tests.orders.factories_pages import make_order
from tests.orders.factories_production import make_asset, make_episode, make_shot, make_tool

pytestmark = pytest.mark.django_db
SAMPLE_SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "sample-script.fountain"
HEADER = "episode,code,scene,description,dialogue,planned_seconds,status,tool,assignee,characters"


def upload(content: bytes | str, name: str = "shots.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def order(db):
    return make_order(kind=Order.Kind.SHORT_DRAMA, status=Order.Status.IN_PRODUCTION)


@pytest.fixture
def kling(db):
    return make_tool("Kling test")


def _snapshot(order: Order) -> list[tuple]:
    return list(
        Shot.objects.filter(episode__order=order)
        .order_by("episode__number", "position")
        .values_list(
            "episode__number", "code", "description", "planned_seconds", "status", "tool_id"
        )
    )


# --- Export ---------------------------------------------------------------------------------


def test_export_is_utf8_with_bom_and_keeps_codes_as_text(owner, order, kling, artist):
    episode = make_episode(order)
    shot = make_shot(
        episode,
        code="010",
        scene="外景 夜市 - 夜",
        description='Steam, "neon", commas, and\nnewlines',
        dialogue="林晚：最后一碗。\nJUN: Same as always.",
        planned_seconds=Decimal("7.50"),
        tool=kling,
        assignee=artist,
    )
    shot.assets.add(make_asset(order, "林晚"), make_asset(order, "JUN"))

    data = imports.export_csv(actor=owner, order=order)

    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    text = data.decode("utf-8-sig")
    assert '1,010,外景 夜市 - 夜,"Steam, ""neon"", commas, and\nnewlines"' in text
    assert ",7.5,todo,Kling test,ada,JUN; 林晚\r\n" in text


def test_artist_cannot_export(artist, order):
    with pytest.raises(NotPermitted):
        imports.export_csv(actor=artist, order=order)


def test_export_then_import_round_trips_byte_for_byte(owner, order, kling, artist):
    for number in (1, 2):
        episode = make_episode(order)
        for index in range(3):
            shot = make_shot(
                episode,
                code=f"{index:03d}{'A' if index == 2 else ''}",
                description=f"Shot {index}, with a comma",
                dialogue="MAYA: 你好\nJUN: hi" if index else "",
                planned_seconds=Decimal("4.25") * (index + 1),
                status=Shot.Status.REVIEW if number == 2 else Shot.Status.TODO,
                tool=kling if index else None,
                assignee=artist if index == 1 else None,
            )
            if index:
                shot.assets.add(*[make_asset(order, f"C{number}{index}{k}") for k in range(2)])
    exported = imports.export_csv(actor=owner, order=order)
    before = _snapshot(order)

    batch = imports.preview_csv(
        actor=owner, order=order, upload=upload(exported), mode=imports.Mode.UPDATE
    )
    assert batch.error_count == 0
    assert batch.payload["counts"] == {"create": 0, "update": 0, "unchanged": 6}
    imports.apply_import(actor=owner, batch=batch)

    assert _snapshot(order) == before
    assert imports.export_csv(actor=owner, order=order) == exported


def test_export_imports_into_another_order_unchanged(owner, order, kling):
    episode = make_episode(order)
    make_shot(episode, code="010", description="Hello", tool=kling).assets.add(
        make_asset(order, "MAYA")
    )
    make_shot(episode, code="007", planned_seconds=Decimal("12.5"))
    exported = imports.export_csv(actor=owner, order=order)
    other = make_order()

    batch = imports.preview_csv(
        actor=owner, order=other, upload=upload(exported), mode=imports.Mode.CREATE
    )
    imports.apply_import(actor=owner, batch=batch)

    assert imports.export_csv(actor=owner, order=other) == exported
    assert Asset.objects.get(order=other).name == "MAYA"


# --- Preview and confirm ----------------------------------------------------------------------


def test_preview_saves_nothing_until_confirmed(owner, order, kling):
    csv_text = f"{HEADER}\n1,010,,First,,5,,Kling test,,MAYA; JUN\n1,020,,Second,,6.5,review,,,\n"

    batch = imports.preview_csv(actor=owner, order=order, upload=upload(csv_text), mode="create")

    assert batch.status == ImportBatch.Status.PENDING
    assert batch.payload["counts"] == {"create": 2, "update": 0, "unchanged": 0}
    assert batch.payload["new_episodes"] == [1]
    assert batch.payload["new_assets"] == ["JUN", "MAYA"]
    assert not Episode.objects.filter(order=order).exists()
    assert not Asset.objects.filter(order=order).exists()

    summary = imports.apply_import(actor=owner, batch=batch)

    assert summary == {"create": 2, "update": 0, "unchanged": 0, "episodes": 1, "assets": 2}
    assert _snapshot(order) == [
        (1, "010", "First", Decimal("5.00"), "todo", kling.pk),
        (1, "020", "Second", Decimal("6.50"), "review", None),
    ]
    event = order.events.get(kind=OrderEvent.Kind.PRODUCTION)
    assert "2 new shots" in event.message
    with pytest.raises(Conflict):
        imports.apply_import(actor=owner, batch=batch)  # a second click imports nothing
    assert Shot.objects.filter(episode__order=order).count() == 2


def test_each_bad_row_gets_its_own_error_and_nothing_is_imported(owner, order, kling, artist):
    make_shot(make_episode(order), code="010")
    csv_text = "\n".join(
        [
            HEADER,
            "1,010,,Exists already,,5,,,,",  # line 2: duplicate of an existing shot
            "1,020,,Bad seconds,,five,,,,",  # line 3
            "1,030,,Unknown tool,,5,,Sora 9,,",  # line 4
            "1,040,,Fine,,5,,Kling test,ada,",  # line 5
            "1,040,,Twice in the file,,5,,,,",  # line 6
            "x,050,,Bad episode,,5,,,,",  # line 7
            "1,,,No code,,5,,,,",  # line 8
            "1,060,,Bad status,,5,almost done,,,",  # line 9
            "1,070,,Stranger,,5,,,nobody,",  # line 10
            "1,080,,Too precise,,5.123,,,,",  # line 11
        ]
    )
    before = _snapshot(order)

    batch = imports.preview_csv(actor=owner, order=order, upload=upload(csv_text), mode="create")

    errors = {row["line"]: row["errors"] for row in batch.payload["rows"] if row["errors"]}
    assert set(errors) == {2, 3, 4, 6, 7, 8, 9, 10, 11}
    assert "already exists in episode 1" in errors[2][0]
    assert "five" in errors[3][0]
    assert "Unknown tool “Sora 9”" in errors[4][0]
    assert "also on line 5" in errors[6][0]
    assert "is not an episode number" in errors[7][0]
    assert errors[8] == ["The shot code is empty."]
    assert "almost done" in errors[9][0]
    assert "“nobody” is not a member" in errors[10][0]
    assert "5.123" in errors[11][0]
    assert batch.error_count == 9
    with pytest.raises(Conflict):
        imports.apply_import(actor=owner, batch=batch)
    assert _snapshot(order) == before


def test_update_mode_matches_episode_and_code_and_never_duplicates(owner, order):
    episode = make_episode(order)
    make_shot(episode, code="010", description="Old")
    csv_text = f"{HEADER}\n1,010,,New text,,8,approved,,,\n1,020,,Added,,4,,,,\n"

    for _ in range(2):
        batch = imports.preview_csv(
            actor=owner, order=order, upload=upload(csv_text), mode="update"
        )
        imports.apply_import(actor=owner, batch=batch)

    assert _snapshot(order) == [
        (1, "010", "New text", Decimal("8.00"), "approved", None),
        (1, "020", "Added", Decimal("4.00"), "todo", None),
    ]
    last = ImportBatch.objects.filter(order=order).first()
    assert last.payload["counts"] == {"create": 0, "update": 0, "unchanged": 2}


def test_update_mode_leaves_columns_the_file_does_not_have(owner, order, kling):
    make_shot(make_episode(order), code="010", description="Keep me", tool=kling)

    batch = imports.preview_csv(
        actor=owner,
        order=order,
        upload=upload("episode,code,status\n1,010,review\n"),
        mode="update",
    )
    imports.apply_import(actor=owner, batch=batch)

    assert _snapshot(order) == [(1, "010", "Keep me", Decimal("5.00"), "review", kling.pk)]


def test_a_preview_that_went_stale_is_refused(owner, order):
    episode = make_episode(order)
    batch = imports.preview_csv(
        actor=owner, order=order, upload=upload(f"{HEADER}\n1,010,,New,,5,,,,\n"), mode="create"
    )
    make_shot(episode, code="010", description="Someone was faster")

    with pytest.raises(Conflict) as refused:
        imports.apply_import(actor=owner, batch=batch)

    assert refused.value.code == "stale_preview"
    assert _snapshot(order) == [(1, "010", "Someone was faster", Decimal("5.00"), "todo", None)]


def test_artists_cannot_import(artist, order):
    with pytest.raises(NotPermitted):
        imports.preview_csv(
            actor=artist, order=order, upload=upload(f"{HEADER}\n1,010,,,,5,,,,\n"), mode="create"
        )
    assert not ImportBatch.objects.exists()


# --- Encodings and junk ---------------------------------------------------------------------

CHINESE_CSV = "集,镜头号,画面描述,时长,角色\n1,010,霓虹灯下蒸汽升起,5,林晚；阿俊\n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (CHINESE_CSV.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + CHINESE_CSV.encode("utf-8"), "utf-8-sig"),
        (CHINESE_CSV.encode("gb18030"), "gb18030"),
        (CHINESE_CSV.encode("utf-16"), "utf-16"),
    ],
)
def test_utf8_with_or_without_bom_gb18030_and_utf16_are_read(owner, order, encoded, encoding):
    batch = imports.preview_csv(actor=owner, order=order, upload=upload(encoded), mode="create")

    assert batch.encoding == encoding
    row = batch.payload["rows"][0]
    assert row["errors"] == []
    assert row["values"]["description"] == "霓虹灯下蒸汽升起"
    assert row["values"]["characters"] == ["林晚", "阿俊"]


def test_semicolon_separated_files_are_read(owner, order):
    text = "episode;code;description;planned_seconds\n1;010;Hello, world;7,5\n"

    batch = imports.preview_csv(actor=owner, order=order, upload=upload(text), mode="create")

    assert batch.payload["rows"][0]["values"] == {
        "description": "Hello, world",
        "planned_seconds": "7.50",
    }


def test_missing_columns_are_named(owner, order):
    with pytest.raises(InvalidInput) as refused:
        imports.preview_csv(
            actor=owner, order=order, upload=upload("shot,description\n010,Hi\n"), mode="create"
        )

    assert "no “episode” column" in refused.value.message
    assert not ImportBatch.objects.exists()


def test_ten_megabytes_of_junk_get_a_clear_answer(owner, order):
    junk = os.urandom(10 * 1024 * 1024)

    with pytest.raises(InvalidInput) as refused:
        imports.preview_csv(actor=owner, order=order, upload=upload(junk), mode="create")

    assert refused.value.message == "The file is 10.0 MB; the limit is 5 MB."
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (os.urandom(200_000), "could not be read as UTF-8 or GB18030"),
        (b"episode,code\n1,010\x00\x00\x00\n" * 10, "is not a CSV text file"),
        (b"", "The file is empty."),
        (b"episode,code\n", "has a header but no shots"),
        (b'episode,code\n1,"010\n', "not valid CSV"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(5000), "could not be read"),
    ],
)
def test_junk_files_get_a_clear_answer(owner, order, content, expected):
    with pytest.raises(InvalidInput) as refused:
        imports.preview_csv(actor=owner, order=order, upload=upload(content), mode="create")

    assert expected in refused.value.message
    assert not ImportBatch.objects.exists()


# --- Fountain -----------------------------------------------------------------------------------


def _script(name: str = "sample-script.fountain") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, SAMPLE_SCRIPT.read_bytes(), content_type="text/plain")


def test_sample_script_previews_shots_dialogue_and_characters(owner, order):
    batch = imports.preview_fountain(actor=owner, order=order, upload=_script())

    payload = batch.payload
    assert payload["episode"] == {
        "number": 1,
        "exists": False,
        "title": "夜市最后一碗面 The Last Bowl at the Night Market",
    }
    assert [s["code"] for s in payload["shots"]] == ["010", "020", "030", "040", "050"]
    assert payload["shots"][0]["scene"] == "外景 夜市 - 夜"
    assert payload["shots"][1]["dialogue"] == (
        "阿俊: 老板，还有面吗？\n林晚: (头也不抬) 最后一碗。\n阿俊: I'll take it. Same as always."
    )
    assert payload["shots"][1]["assets"] == ["夜市", "阿俊", "林晚"]
    names = {(a["name"], a["kind"], a["shots"]) for a in payload["assets"]}
    assert names == {
        ("夜市", "location", 2),
        ("面摊后厨", "location", 2),
        ("ROOFTOP ABOVE THE MARKET", "location", 1),
        ("阿俊", "character", 2),
        ("林晚", "character", 3),
        ("王奶奶", "character", 1),
    }
    assert not Episode.objects.filter(order=order).exists()
    assert not Asset.objects.filter(order=order).exists()


def test_confirming_a_script_creates_the_episode_shots_and_casting(owner, order):
    batch = imports.preview_fountain(actor=owner, order=order, upload=_script())

    summary = imports.apply_import(actor=owner, batch=batch)

    episode = Episode.objects.get(order=order)
    assert summary == {"shots": 5, "assets": 6, "episode": 1}
    assert episode.title.startswith("夜市最后一碗面")
    shot = episode.shots.get(code="020")
    assert shot.dialogue_lines[0] == ("阿俊", "老板，还有面吗？")
    assert sorted(shot.assets.values_list("name", flat=True)) == ["夜市", "林晚", "阿俊"]
    assert Decimal(2) <= shot.planned_seconds <= Decimal(15)
    assert order.events.filter(kind=OrderEvent.Kind.PRODUCTION).count() == 1


def test_one_shot_per_scene_and_into_an_existing_episode(owner, order):
    episode = make_episode(order, number=3)
    make_shot(episode, code="030")
    make_asset(order, "林晚")

    batch = imports.preview_fountain(
        actor=owner, order=order, upload=_script(), episode_number=3, per="scene"
    )
    imports.apply_import(actor=owner, batch=batch)

    codes = list(episode.shots.order_by("position").values_list("code", flat=True))
    assert codes == ["030", "040", "050", "060"]
    assert Asset.objects.filter(order=order, name="林晚").count() == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (os.urandom(50_000), "not a Fountain screenplay"),
        (b"Just some notes\n\nwithout any scene or speaker.\n", "No scene headings or dialogue"),
        (b"", "The file is empty."),
        (b"\x00" * 100, "not a Fountain screenplay"),
    ],
)
def test_junk_scripts_get_a_clear_answer(owner, order, content, expected):
    with pytest.raises(InvalidInput) as refused:
        imports.preview_fountain(
            actor=owner,
            order=order,
            upload=SimpleUploadedFile("x.fountain", content, content_type="text/plain"),
        )

    assert expected in refused.value.message
    assert not ImportBatch.objects.exists()


def test_script_over_the_size_limit_is_refused(owner, order):
    big = b"INT. ROOM - DAY\n\n" + b"Words. " * (imports.MAX_SCRIPT_BYTES // 7 + 10)

    with pytest.raises(InvalidInput) as refused:
        imports.preview_fountain(
            actor=owner,
            order=order,
            upload=SimpleUploadedFile("big.fountain", big, content_type="text/plain"),
        )

    assert "the limit is 2 MB" in refused.value.message


def test_location_and_speaker_names_are_cleaned():
    assert imports.location_of("INT. TEA HOUSE - NIGHT") == "TEA HOUSE"
    assert imports.location_of("INT./EXT. CAR - MOVING") == "CAR"
    assert imports.location_of("内景 茶馆 - 夜") == "茶馆"
    assert imports.speaker_name("MAYA (V.O.) (CONT'D)") == "MAYA"
    assert imports.speaker_name("林晚（画外音）") == "林晚"


# --- The pages ------------------------------------------------------------------------------------


def test_csv_import_through_the_pages(owner_http, order):
    response = owner_http.post(
        reverse("breakdown-import", args=[order.pk]),
        {"file": upload(f"{HEADER}\n2,010,,Hi,,5,,,,\n"), "mode": "update"},
    )
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("import-preview", args=[batch.pk])
    preview = owner_http.get(response["Location"])
    assert "Import now" in preview.content.decode()
    assert not Shot.objects.exists()

    response = owner_http.post(reverse("import-preview", args=[batch.pk]), {"action": "confirm"})

    assert response["Location"] == reverse("breakdown", args=[order.pk])
    assert _snapshot(order) == [(2, "010", "Hi", Decimal("5.00"), "todo", None)]


def test_preview_with_errors_has_no_import_button_and_discarding_changes_nothing(owner_http, order):
    owner_http.post(
        reverse("breakdown-import", args=[order.pk]),
        {"file": upload(f"{HEADER}\n1,010,,Hi,,-5,,,,\n"), "mode": "create"},
    )
    batch = ImportBatch.objects.get()

    page = owner_http.get(reverse("import-preview", args=[batch.pk])).content.decode()
    assert "Import now" not in page
    assert "Planned seconds “-5”" in page

    owner_http.post(reverse("import-preview", args=[batch.pk]), {"action": "discard"})
    owner_http.post(reverse("import-preview", args=[batch.pk]), {"action": "confirm"})

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DISCARDED
    assert not Shot.objects.exists()


def test_junk_upload_page_says_why_with_a_400(owner_http, order):
    response = owner_http.post(
        reverse("breakdown-import", args=[order.pk]),
        {"file": upload(os.urandom(100_000)), "mode": "create"},
    )

    assert response.status_code == 400
    assert "could not be read as UTF-8 or GB18030" in response.content.decode()


def test_fountain_import_through_the_pages(owner_http, order):
    response = owner_http.post(
        reverse("breakdown-import-script", args=[order.pk]),
        {"file": _script(), "episode": "", "per": "paragraph"},
    )
    batch = ImportBatch.objects.get()
    page = owner_http.get(response["Location"]).content.decode()
    assert "王奶奶" in page
    assert "A new episode 1 will be created with 5 shots." in page

    owner_http.post(reverse("import-preview", args=[batch.pk]), {"action": "confirm"})

    assert Shot.objects.filter(episode__order=order).count() == 5


def test_artist_cannot_open_import_pages(artist_http, order):
    response = artist_http.post(
        reverse("breakdown-import", args=[order.pk]),
        {"file": upload(f"{HEADER}\n1,010,,,,5,,,,\n"), "mode": "create"},
    )

    assert response.status_code == 403
    assert not ImportBatch.objects.exists()
