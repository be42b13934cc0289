"""The Connect emulator applies the model's Java-style patterns as the service does: `\\p{L}` is any
letter of any script, `\\p{Z}` any separator, `\\p{N}` any number, `\\p{C}` any control character."""

from __future__ import annotations

import pytest

from localaws.connect.protocol import ConnectProtocol

PROTOCOL = ConnectProtocol()

# Every shape of the connect model whose pattern uses a \p{...} class: a value the service accepts,
# one it refuses.
CASES = {
    "DataTableName": ("Tarifs Été-2024_東京:=@'|", "a/b"),
    "EvaluationFormMetricName": ("Ünïcode metric 東京 ✓", "bell\u0007"),
    "Page": ("Seite-Über 1", ".."),
    "Slug": ("Καλή-σελίδα", "ab"),
    "TagKey": ("Kostenstelle Ü_.:/=+@東京-Київ", "aws:reserved"),
    "ViewAction": ("Vue (Été) 東京", " leading space"),
    "ViewName": ("Ansicht-Größe/1", "semi;colon"),
    "ViewDescription": ("Beschreibung, mit Komma (ü)", "a;b"),
    "ViewsClientToken": ("tök-én_1", "#"),
}


def model_pattern(shape: str) -> str:
    pattern: str = PROTOCOL.model.shape_for(shape).metadata["pattern"]
    return pattern


def test_the_cases_cover_every_pattern_of_the_model_that_uses_a_unicode_class() -> None:
    using = {
        name
        for name in PROTOCOL.model.shape_names
        if "\\p{" in PROTOCOL.model.shape_for(name).metadata.get("pattern", "")
    }
    assert using == set(CASES)


@pytest.mark.parametrize("shape", sorted(CASES))
def test_a_pattern_with_unicode_classes_accepts_what_the_service_accepts(shape: str) -> None:
    accepted, refused = CASES[shape]
    pattern = PROTOCOL.pattern(model_pattern(shape))
    assert pattern is not None
    assert pattern.fullmatch(accepted)
    assert not pattern.fullmatch(refused)


@pytest.mark.parametrize("key", ["cost-center", "Cost Center", "Größe", "東京", "Київ", "key_.:/=+@-1"])
def test_tag_keys_of_letters_of_any_script_spaces_and_punctuation_are_accepted(key: str) -> None:
    pattern = PROTOCOL.pattern(model_pattern("TagKey"))
    assert pattern is not None
    assert pattern.fullmatch(key)
