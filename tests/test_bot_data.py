"""Cheap consistency checks of the Rasa project, in the app environment."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from iara.nlu_export import INTENT, render_nlu
from iara.settings import get_settings
from index.knowledge import Knowledge

ROOT = get_settings().project_root
MIN_EXAMPLES = 10


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def nlu_examples(knowledge: Knowledge) -> dict[str, list[str]]:
    documents = [load(p) for p in sorted((ROOT / "bot" / "data" / "nlu").glob("*.yml"))]
    documents.append(yaml.safe_load(render_nlu(knowledge)))
    examples: dict[str, list[str]] = {}
    for document in documents:
        for block in document.get("nlu", []):
            if "intent" in block:
                lines = [line[2:] for line in block["examples"].splitlines() if line.strip()]
                examples.setdefault(block["intent"], []).extend(lines)
    return examples


def test_every_domain_action_is_implemented() -> None:
    domain = load(ROOT / "domain.yml")
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert set(domain["actions"]) <= set(executor.actions)


def test_every_intent_has_enough_examples(knowledge: Knowledge) -> None:
    domain = load(ROOT / "domain.yml")
    examples = nlu_examples(knowledge)
    for intent in domain["intents"]:
        if intent == "nlu_fallback":
            continue
        assert len(examples.get(intent, [])) >= MIN_EXAMPLES, intent


def test_rules_use_only_domain_intents_and_actions() -> None:
    domain = load(ROOT / "domain.yml")
    known_actions = set(domain["actions"]) | set(domain["responses"]) | {"action_restart"}
    for rule in load(ROOT / "bot" / "data" / "rules.yml")["rules"]:
        for step in rule["steps"]:
            if "intent" in step:
                assert step["intent"] in domain["intents"], rule["rule"]
            if "action" in step:
                assert step["action"] in known_actions, rule["rule"]


def test_responses_used_by_actions_exist() -> None:
    domain = load(ROOT / "domain.yml")
    source = "".join(p.read_text() for p in (ROOT / "bot" / "actions").glob("*.py"))
    for name in ("utter_nao_sei", "utter_erro_conhecimento"):
        assert f'"{name}"' in source and name in domain["responses"]


def test_generated_nlu_holds_every_knowledge_question(knowledge: Knowledge) -> None:
    generated = yaml.safe_load(render_nlu(knowledge))["nlu"][0]
    examples = [line[2:] for line in generated["examples"].splitlines() if line.strip()]
    assert generated["intent"] == INTENT
    assert sorted(examples) == sorted({q.text for q in knowledge.questions})


def test_no_dev_question_leaks_into_training(knowledge: Knowledge) -> None:
    from index.text import question_key

    trained = {question_key(e) for lines in nlu_examples(knowledge).values() for e in lines}
    leaked = [d.q for d in knowledge.dev if question_key(d.q) in trained]
    assert leaked == []
