"""portal.api.AnswerSerializer renders what DRF's Serializer renders, in every case its shorter road meets or leaves
to DRF. (The suite-wide fixture in tests/conftest.py compares both for every answer the other tests render.)"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework import serializers

from portal.api import AnswerSerializer

UTC = dt.UTC
WHEN = dt.datetime(2026, 12, 2, 22, 46, 35, 541877, tzinfo=UTC)


class Counts(AnswerSerializer):
    uploaded = serializers.IntegerField()
    removed = serializers.IntegerField()


class Summary(AnswerSerializer):
    id = serializers.IntegerField()
    label = serializers.CharField()


class Everything(AnswerSerializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    owner = serializers.CharField(source="owner.name")
    created = serializers.DateTimeField(source="created_at")
    finished = serializers.DateTimeField(source="finished_at", allow_null=True)
    dated = serializers.DateTimeField(source="created_at", format="%Y-%m-%d")
    in_berlin = serializers.DateTimeField(source="created_at", default_timezone=zoneinfo.ZoneInfo("Europe/Berlin"))
    shout = serializers.CharField(source="loud")  # a method: DRF calls it
    spaces = serializers.ListField(child=serializers.CharField())
    counts = Counts()
    nickname = serializers.CharField(required=False)  # absent: left out
    motto = serializers.CharField(default="none")  # absent: the default
    computed = serializers.SerializerMethodField()
    whole = Summary(source="*")  # the object itself

    def get_computed(self, obj) -> str:
        return f"#{obj.id}"


def thing(**overrides):
    values = {
        "id": 7, "label": "ci", "owner": SimpleNamespace(name="acme"), "created_at": WHEN, "finished_at": None,
        "loud": lambda: "HELLO", "spaces": ["DOCS", "ENG"], "counts": {"uploaded": 1, "removed": 0},
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def both(serializer: serializers.Serializer, instance) -> tuple[list, list]:
    # The suite-wide cross-check (tests/conftest.py) wraps the shorter road; called here on its own.
    shorter_road = getattr(AnswerSerializer.to_representation, "__wrapped__", AnswerSerializer.to_representation)
    shorter = shorter_road(serializer, instance)
    return list(shorter.items()), list(serializers.Serializer.to_representation(serializer, instance).items())


def test_every_kind_of_field_renders_as_drf_renders_it():
    shorter, drf = both(Everything(), thing())
    assert shorter == drf
    answer = dict(shorter)
    assert answer["created"] == "2026-12-02T22:46:35.541877Z"
    assert answer["in_berlin"] == "2026-12-02T23:46:35.541877+01:00"
    assert answer["dated"] == "2026-12-02"
    assert answer["shout"] == "HELLO"
    assert answer["motto"] == "none" and "nickname" not in answer
    assert answer["counts"] == {"uploaded": 1, "removed": 0}
    assert answer["whole"] == {"id": 7, "label": "ci"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"created_at": dt.datetime(2026, 12, 2, 22, 46, 35)},  # naive: DRF makes it aware
        {"created_at": WHEN.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))},
        {"owner": {"name": "from a mapping"}},
        {"spaces": []},
        {"finished_at": WHEN},
        {"label": 12},  # not a string: CharField's str()
    ],
)
def test_values_off_the_plain_road_render_as_drf_renders_them(overrides):
    shorter, drf = both(Everything(), thing(**overrides))
    assert shorter == drf


def test_a_mapping_renders_as_drf_renders_it():
    shorter, drf = both(Counts(), {"uploaded": 3, "removed": 2})
    assert shorter == drf == [("uploaded", 3), ("removed", 2)]


@override_settings(TIME_ZONE="America/New_York")
def test_datetimes_follow_the_current_time_zone():
    shorter, drf = both(Everything(), thing())
    assert shorter == drf
    assert dict(shorter)["created"] == "2026-12-02T17:46:35.541877-05:00"
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        shorter, drf = both(Everything(), thing())
        assert shorter == drf
        assert dict(shorter)["created"] == "2026-12-03T07:46:35.541877+09:00"


@pytest.mark.parametrize(("overrides", "field"), [({"owner": None}, "owner"), ({"label": ...}, "label")])
def test_a_missing_required_attribute_fails_as_in_drf(overrides, field):
    broken = thing(**overrides)
    if broken.label is ...:
        del broken.label
    for render in (AnswerSerializer.to_representation, serializers.Serializer.to_representation):
        with pytest.raises(AttributeError, match=f"for field `{field}` on serializer `Everything`"):
            render(Everything(), broken)


def test_render_gives_what_data_holds_without_a_serializer_per_answer():
    answer = Everything.render(thing())
    assert type(answer) is dict
    assert list(answer.items()) == list(Everything(thing()).data.items())
    assert Everything.render(thing(label="other"))["label"] == "other"  # nothing kept from the answer before
