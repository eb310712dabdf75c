"""Channel rendering, checked by hand and against the platforms' own rules (the stand-ins'
validators): text splitting, Telegram HTML and keyboards, WhatsApp buttons and lists."""

from __future__ import annotations

import random

import httpx
import pytest

from api.channels.common import (
    CHOOSE_TEXT,
    command_alias,
    encode_payload,
    payload_ref,
    refs_in,
    split_text,
    truncate_title,
    unique_titles,
    utf16_len,
)
from api.channels.delivery import transport_error
from api.channels.telegram import parse_update
from api.channels.telegram import render_messages as telegram_render
from api.channels.whatsapp import parse_notification, valid_signature
from api.channels.whatsapp import render_messages as whatsapp_render
from tests.standins.telegram import (
    PHOTO,
    STICKER,
    callback_update,
    edited_update,
    message_update,
    visible_html,
)
from tests.standins.whatsapp import (
    button_reply,
    check_message,
    inbound_message,
    signed,
    status_update,
    text_message,
)

FEEDBACK = [{"title": "👍 Útil", "payload": '/avaliar{"avaliacao":"util"}'},
            {"title": "👎 Não útil", "payload": '/avaliar{"avaliacao":"nao_util"}'}]
SOURCES = [{"title": "Item 3.2.2 › Prazos e validade",
            "url": "https://iara.example/conteudos/item-3.2.2#prazos-e-validade",
            "item": "3.2.2"},
           {"title": "Manual do Siconfi", "url": "https://siconfi.tesouro.gov.br/?a=1&b=2"},
           {"title": "Sem endereço", "url": None}]


def words(text: str) -> list[str]:
    return text.split()


# --- split_text ---------------------------------------------------------------------------

def test_split_keeps_short_text_whole() -> None:
    assert split_text("  Olá, gestor.  ", 100) == ["Olá, gestor."]
    assert split_text("   ", 10) == []


def test_split_prefers_paragraphs_then_sentences_then_words() -> None:
    text = "Primeira frase. Segunda frase.\n\nOutro parágrafo aqui."
    assert split_text(text, 40) == ["Primeira frase. Segunda frase.", "Outro parágrafo aqui."]
    assert split_text("Uma frase curta. Outra frase maior aqui.", 25) == [
        "Uma frase curta.", "Outra frase maior aqui."]
    assert split_text("palavra " * 5, 17) == ["palavra palavra", "palavra palavra",
                                              "palavra"]


def test_split_ignores_a_boundary_that_would_leave_a_tiny_piece() -> None:
    text = "Oi.\n\n" + "texto longo sem quebra de parágrafo " * 3
    pieces = split_text(text, 60)
    assert pieces[0].startswith("Oi.\n\ntexto")  # not a 3-character first message


def test_split_cuts_inside_a_word_only_when_the_word_exceeds_the_limit() -> None:
    url = "https://exemplo.gov.br/" + "x" * 30
    assert split_text(f"veja {url} agora", 20) == ["veja", url[:20], url[20:40],
                                                   url[40:] + " agora"]


@pytest.mark.parametrize("seed", range(20))
def test_split_never_breaks_words_and_loses_nothing(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = ["CAUC", "Siconfi", "RREO", "bimestre", "prazo", "município", "é", "30",
                  "dias.", "regularizar;", "👍", "comprovação", "\n", "\n\n", "—"]
    text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 400)))
    limit = rng.randint(15, 300)
    measure = rng.choice([len, utf16_len])
    pieces = split_text(text, limit, measure=measure)
    assert all(0 < measure(p) <= limit for p in pieces)
    assert all(p == p.strip() for p in pieces)
    assert words(" ".join(pieces)) == words(text)  # a split word would show as two


def test_split_counts_telegram_units() -> None:
    pieces = split_text("👍 " * 3000, 4096, measure=utf16_len)
    assert all(utf16_len(p) <= 4096 for p in pieces) and len(pieces) == 3


# --- small helpers ------------------------------------------------------------------------

def test_titles_are_cut_at_words_and_kept_distinct() -> None:
    assert truncate_title("Pendência no RGF", 20) == "Pendência no RGF"
    assert truncate_title("Regularizar a pendência do RGF", 20) == "Regularizar a…"
    assert len(truncate_title("Supercalifragilisticexpialidocious", 10)) == 10
    assert unique_titles(["Prazo do RREO do 1º", "Prazo do RREO do 2º"], 15) == [
        "Prazo do RREO…", "Prazo do… 2"]


def test_payloads_travel_literally_or_by_reference() -> None:
    short = '/avaliar{"avaliacao":"util"}'
    assert encode_payload(short, 64) == "p:" + short
    long = "qual o prazo para enviar o RREO ao Siconfi e o que acontece se eu atrasar?"
    ref = encode_payload(long, 64)
    assert ref == payload_ref(long) and ref.startswith("r:") and len(ref.encode()) <= 64
    messages = [{"text": "x", "buttons": [{"title": "a", "payload": short},
                                          {"title": "b", "payload": long}]}]
    assert refs_in(messages, 64) == {ref: long}


def test_telegram_commands_map_to_intents() -> None:
    assert command_alias("/start") == "/saudacao"
    assert command_alias("/start@IaraBot") == "/saudacao"
    assert command_alias("/ajuda") == "/ajuda"
    assert command_alias("qual o prazo?") == "qual o prazo?"


def test_only_a_request_that_never_left_is_retryable() -> None:
    request = httpx.Request("POST", "https://api.telegram.org/x")
    assert transport_error(httpx.ConnectError("refused", request=request)).retryable
    assert not transport_error(httpx.ReadTimeout("slow", request=request)).retryable


# --- Telegram -----------------------------------------------------------------------------

def test_telegram_answer_with_sources_and_buttons() -> None:
    text = "O RREO vai ao Siconfi até 30 dias após o bimestre <b>não</b> & mais."
    [body] = telegram_render("42", [{"text": text, "buttons": FEEDBACK, "sources": SOURCES}])
    assert body["chat_id"] == 42 and body["parse_mode"] == "HTML"
    shown = visible_html(body["text"])  # the real API's parser would accept it
    assert shown.startswith(text)  # user-visible text unchanged, markup escaped
    assert "&lt;b&gt;não&lt;/b&gt; &amp; mais" in body["text"]
    assert '<a href="https://siconfi.tesouro.gov.br/?a=1&amp;b=2">Manual do Siconfi</a>' \
        in body["text"]
    assert "\n• Sem endereço" in body["text"]
    assert body["reply_markup"] == {"inline_keyboard": [[
        {"text": "👍 Útil", "callback_data": 'p:/avaliar{"avaliacao":"util"}'},
        {"text": "👎 Não útil", "callback_data": 'p:/avaliar{"avaliacao":"nao_util"}'}]]}


def test_telegram_long_answer_is_split_with_the_keyboard_on_the_last_part() -> None:
    paragraph = ("O município deve enviar o relatório no prazo. " * 20).strip()
    text = "\n\n".join([paragraph] * 12)  # about 11,000 characters
    bodies = telegram_render("-1001", [{"text": text, "buttons": FEEDBACK,
                                        "sources": SOURCES}])
    assert len(bodies) == 3 and bodies[0]["chat_id"] == -1001
    shown = [visible_html(b["text"]) for b in bodies]
    assert all(utf16_len(s) <= 4096 for s in shown)
    assert [("reply_markup" in b) for b in bodies] == [False, False, True]
    answer, _, sources = " ".join(shown).partition("\n\nFontes\n")
    assert words(answer) == words(text) and "Manual do Siconfi" in sources


def test_telegram_sources_get_their_own_message_when_the_text_is_full() -> None:
    text = "palavra " * 510  # 4079 characters: no room left for the sources
    bodies = telegram_render("7", [{"text": text, "buttons": [], "sources": SOURCES}])
    assert len(bodies) == 2 and bodies[1]["text"].startswith("<b>Fontes</b>")
    assert all(utf16_len(visible_html(b["text"])) <= 4096 for b in bodies)


def test_telegram_long_button_payloads_become_references() -> None:
    long = "como regularizar a pendência do RGF quando o prefeito anterior não enviou?"
    buttons = [{"title": "O que é o CAUC?", "payload": "o que é o CAUC?"},
               {"title": "Pendência antiga no RGF", "payload": long}]
    [body] = telegram_render("7", [{"text": "Escolha:", "buttons": buttons, "sources": []}])
    rows = body["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [1, 1]  # long labels alone on their row
    assert rows[1][0]["callback_data"] == payload_ref(long)
    assert all(len(r[0]["callback_data"].encode()) <= 64 for r in rows)


def test_telegram_updates_are_read() -> None:
    [text] = parse_update(message_update(10, 42, "oi"))
    assert (text.kind, text.text, text.sender, text.update_id) == (
        "text", "oi", "telegram:42", "10")
    assert parse_update(message_update(11, 42, "/start"))[0].text == "/saudacao"
    [edited] = parse_update(edited_update(12, 42, "qual o prazo?"))
    assert (edited.kind, edited.text) == ("text", "qual o prazo?")
    [button] = parse_update(callback_update(13, 42, "p:oi"))
    assert (button.kind, button.text, button.callback_id) == ("button", "p:oi", "cbq-13")
    assert parse_update(message_update(14, 42, sticker=STICKER))[0].kind == "unsupported"
    assert parse_update(message_update(15, 42, photo=PHOTO, caption="isto"))[0].kind == \
        "unsupported"
    service = message_update(16, 42, new_chat_members=[{"id": 1, "is_bot": False,
                                                         "first_name": "A"}])
    for ignored in (service, {"update_id": 17, "my_chat_member": {}}, {"update_id": "x"},
                    [], {"message": {"text": "sem update_id"}}, None):
        assert parse_update(ignored) == []


# --- WhatsApp -----------------------------------------------------------------------------

def test_whatsapp_answer_with_sources_and_reply_buttons() -> None:
    bodies = whatsapp_render("5561999990000", [
        {"text": "Prazo: 30 dias após o bimestre.", "buttons": FEEDBACK, "sources": SOURCES,
         "handoff": False}])
    [body] = bodies
    assert check_message(body) is None
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"].startswith("Prazo: 30 dias após o bimestre.\n\n*Fontes*")
    assert "• Manual do Siconfi: https://siconfi.tesouro.gov.br/?a=1&b=2" in \
        interactive["body"]["text"]
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": 'p:/avaliar{"avaliacao":"util"}', "title": "👍 Útil"},
        {"id": 'p:/avaliar{"avaliacao":"nao_util"}', "title": "👎 Não útil"}]


def test_whatsapp_more_than_three_buttons_become_a_list() -> None:
    buttons = [{"title": f"3.2.{n} Relatório de Gestão Fiscal do Poder Executivo",
                "payload": f'/perguntar{{"item":"3.2.{n}","aspecto":"como_regularizar"}}'}
               for n in range(12)]
    [body] = whatsapp_render("55", [{"text": "Qual item?", "buttons": buttons,
                                     "sources": []}])
    assert check_message(body) is None
    interactive = body["interactive"]
    assert interactive["type"] == "list" and interactive["body"]["text"] == "Qual item?"
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)
    assert rows[0]["title"] == "3.2.0 Relatório de…"
    assert rows[0]["description"].startswith("3.2.0 Relatório de Gestão Fiscal")
    assert rows[0]["id"] == 'p:/perguntar{"item":"3.2.0","aspecto":"como_regularizar"}'


def test_whatsapp_answer_too_long_for_buttons_leaves_them_its_last_paragraphs() -> None:
    paragraph = ("O município deve enviar o relatório no prazo. " * 15).strip()
    text = "\n\n".join([paragraph] * 3)  # 2,000 characters: too long for an interactive
    [answer, buttons] = whatsapp_render("55", [{"text": text, "buttons": FEEDBACK,
                                                "sources": SOURCES}])
    assert check_message(answer) is None and check_message(buttons) is None
    assert answer["type"] == "text" and answer["text"]["body"] == f"{paragraph}\n\n{paragraph}"
    body = buttons["interactive"]["body"]["text"]
    assert body.startswith(paragraph + "\n\n*Fontes*\n• Item 3.2.2")  # whole paragraphs


def test_whatsapp_long_answer_goes_as_text_then_the_buttons() -> None:
    text = "\n\n".join(["O município deve enviar o relatório no prazo. " * 30] * 5)
    bodies = whatsapp_render("55", [{"text": text, "buttons": FEEDBACK, "sources": []}])
    assert all(check_message(b) is None for b in bodies)
    assert [b["type"] for b in bodies] == ["text", "text", "text", "interactive"]
    assert bodies[-1]["interactive"]["body"]["text"] == CHOOSE_TEXT
    sent = " ".join(b["text"]["body"] for b in bodies[:-1])
    assert words(sent) == words(text)


def test_whatsapp_notifications_are_read() -> None:
    phone = "106540352242922"
    [text] = parse_notification(text_message("wamid.1", "5561", "oi", phone))
    assert (text.kind, text.text, text.sender, text.update_id) == (
        "text", "oi", "whatsapp:5561", "wamid.1")
    [button] = parse_notification(button_reply("wamid.2", "5561", "p:oi", "Oi", phone))
    assert (button.kind, button.text) == ("button", "p:oi")
    [row] = parse_notification(button_reply("wamid.3", "5561", "r:abc", "Item", phone,
                                            kind="list_reply"))
    assert (row.kind, row.text) == ("button", "r:abc")
    image = inbound_message("wamid.4", "5561", "image", {"id": "1", "mime_type": "image/jpeg"},
                            phone)
    assert parse_notification(image)[0].kind == "unsupported"
    reaction = inbound_message("wamid.5", "5561", "reaction",
                               {"message_id": "wamid.1", "emoji": "👍"}, phone)
    for ignored in (status_update("wamid.9", "5561", "delivered", phone), reaction,
                    {"object": "page"}, {"object": "whatsapp_business_account",
                                         "entry": "x"}, [], None):
        assert parse_notification(ignored) == []


def test_whatsapp_signature() -> None:
    raw, headers = signed({"object": "whatsapp_business_account"}, "segredo")
    assert valid_signature("segredo", raw, headers["X-Hub-Signature-256"])
    assert not valid_signature("outro", raw, headers["X-Hub-Signature-256"])
    assert not valid_signature("segredo", raw + b" ", headers["X-Hub-Signature-256"])
    assert not valid_signature("segredo", raw, "sha1=abc")
