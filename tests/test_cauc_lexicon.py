"""The município lookup table of the NLU, built from a CAUC open-data file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cauc.errors import CaucFormatError
from cauc.lexicon import ENTITY, build_lexicon, portuguese_words, render, training_texts
from iara.settings import PROJECT_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "cauc"
MUNICIPIOS = FIXTURES / "municipios-2026-09-15-latin1.csv"


def test_every_name_goes_in_as_written_and_without_accents() -> None:
    lexicon = build_lexicon(MUNICIPIOS, [], [], lambda word: False)
    assert {"sobral", "xique-xique", "xique xique", "olho d'água das flores",
            "olho d agua das flores", "paraiso das aguas", "são paulo", "sao paulo"} \
        <= set(lexicon.names)
    assert lexicon.names == sorted(set(lexicon.names)) and lexicon.dropped == []


def test_names_the_training_data_uses_otherwise_are_left_out() -> None:
    marked = ["qual a situação de [Recife](municipio)?",  # marked: a place
              "bora falar de sobral"]                      # unmarked where all are marked
    questions = ["o recife de corais", "sou da prefeitura de palotina, tenho uma dúvida"]
    lexicon = build_lexicon(MUNICIPIOS, marked, questions, {"recife"}.__contains__)
    assert {"recife", "sobral"} == set(lexicon.dropped)
    assert "palotina" in lexicon.names  # not a word: a place even where nothing is marked
    # Without the unmarked uses, both are place names again.
    lexicon = build_lexicon(MUNICIPIOS, marked[:1], [], {"recife"}.__contains__)
    assert {"recife", "sobral"} <= set(lexicon.names)


def test_the_portuguese_word_list_knows_words_and_not_place_names() -> None:
    words = portuguese_words()
    assert {"saude", "uniao", "registro"} <= words
    assert not {"itabuna", "xique", "acrelandia"} & words


def test_a_file_that_is_not_of_municipios_is_refused_with_a_clear_error() -> None:
    orgaos = FIXTURES / "orgaos-maranhao-2026-09-02.csv"
    with pytest.raises(CaucFormatError, match="not of municípios"):
        build_lexicon(orgaos, [], [], lambda w: False)


def test_the_rendered_table_is_a_rasa_lookup_with_its_source() -> None:
    lexicon = build_lexicon(MUNICIPIOS, [], ["o recife de corais"], {"recife"}.__contains__)
    text = render(lexicon)
    assert "municipios-2026-09-15-latin1.csv" in text and "recife" in text.split("version")[0]
    document = yaml.safe_load(text)
    assert document["nlu"][0]["lookup"] == ENTITY
    assert document["nlu"][0]["examples"].splitlines()[0] == f"- {lexicon.names[0]}"


def test_the_packaged_table_covers_the_cauc_municipios() -> None:
    """bot/data/nlu/municipios.yml is generated from a real CAUC file (5,570 municípios)."""
    path = PROJECT_ROOT / "bot" / "data" / "nlu" / "municipios.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = document["nlu"][0]["examples"].splitlines()
    assert document["nlu"][0]["lookup"] == ENTITY and len(names) > 5_570
    assert {"- sobral", "- xique-xique", "- sao jose do xingu", "- itabuna"} <= set(names)
    assert "- saude" not in names  # "mínimo em saúde": a word of the training data
    assert "- bora" not in names  # "bora recomeçar"
    texts = training_texts([path.read_text(encoding="utf-8")])
    assert texts == []  # a lookup only: no examples of any intent
