"""A minimal, valid knowledge tree written into a temporary folder (test data, invented
wording), so each validator test can break exactly one thing."""

from __future__ import annotations

from pathlib import Path

from index.cards import render_cards
from index.knowledge import ITEM_SECTIONS

ITEM_FRONT = """---
id: item-3.2.2
tipo: item
item: "3.2.2"
grupo: "III – Obrigações de Transparência"
titulo: "Encaminhamento do RREO ao Siconfi (dados de teste)"
formato: texto
resumo: "Dados de teste."
sistema: "Siconfi"
relacionados: ["3.2.1"]
sinonimos: ["envio do rreo de teste", "rreo no siconfi de teste", "homologação do rreo de teste"]
fontes:
  - titulo: "Fonte de teste"
    url: "https://example.org/fonte"
---
"""

TEMA = """---
id: tema-o-que-e-o-cauc
tipo: tema
titulo: "O que é o CAUC (dados de teste)"
formato: texto
fontes:
  - titulo: "Fonte de teste"
---

## O que é
Texto de teste sobre o CAUC.
"""

TRILHAS = """- id: financas
  titulo: "Finanças (teste)"
  descricao: "Trilha de teste."
  conteudos: [tema-o-que-e-o-cauc, item-3.2.2]
"""

FONTE = "https://example.org/fonte"
SOURCES = f"""- url: {FONTE}
  titulo: Fonte de teste
  oficial: true
"""


def card(card_id: str, tipo: str, pergunta: str, resposta: str, secao: str,
         perguntas: tuple[str, ...] = (), passos: tuple[str, ...] = ()) -> str:
    """One card in the canonical layout (test data), citing the test source."""
    fields = {"id": card_id, "tipo": tipo, "pergunta": pergunta, "resposta": resposta,
              "passos": list(passos), "secao": secao, "fontes": [FONTE],
              "perguntas": list(perguntas)}
    return render_cards("x", [fields], is_item=False).split("\n", 2)[2]


QA_ITEM = 'item: "3.2.2"\ncartoes:\n' + "".join([
    card("o-que-verifica", "o_que_e", "O que o item de teste verifica?",
         "O item de teste confere o envio do relatório de teste.", "O que verifica"),
    card("por-que-pendente", "por_que_pendente", "Por que o item de teste fica pendente?",
         "Porque o relatório de teste não foi homologado.",
         'Por que aparece "a comprovar"'),
    card("como-regularizar", "como_regularizar", "Como regularizar o item de teste?",
         "Homologue o relatório de teste no sistema de teste.", "Como regularizar",
         perguntas=("como envio o rreo de teste",),
         passos=("Gere o relatório de teste.", "Homologue o relatório de teste.")),
    card("prazo", "prazo", "Qual o prazo do item de teste?",
         "O prazo de teste é de 30 dias após o bimestre.", "Prazos e validade",
         perguntas=("prazo do rreo de teste?",)),
    card("base-legal", "base_legal", "Qual a base legal do item de teste?",
         "A lei de teste, art. 1.", "Base legal"),
    card("sistema", "sistema_responsavel", "Quem homologa o relatório de teste?",
         "O titular do Poder de teste.", "Sistema de origem e responsável"),
])

QA_TEMA = "tema: o-que-e-o-cauc\ncartoes:\n" + card(
    "o-que-e", "o_que_e", "O que é o CAUC de teste?", "Sim, o CAUC de teste é um cadastro.",
    "O que é", perguntas=("pra que serve o cauc de teste",))

SYSTEMS = """- nome: Siconfi de teste
  orgao: STN
  sinonimos: ["siconfi teste"]
  itens: ["3.2.2"]
"""

DEV = """- q: "pergunta de avaliação de teste"
  item: "3.2.2"
  topic: "3.2.2"
  must_mention: ["30 dias"]
"""


def item_body(sections: tuple[str, ...] = ITEM_SECTIONS) -> str:
    return "\n".join(f"\n## {heading}\nTexto de teste do item 3.2.2 ({heading}).\n"
                     for heading in sections)


def write_knowledge(root: Path) -> Path:
    (root / "itens").mkdir(parents=True)
    (root / "temas").mkdir()
    (root / "qa").mkdir()
    (root / "itens" / "3.2.2.md").write_text(ITEM_FRONT + item_body(), encoding="utf-8")
    (root / "temas" / "o-que-e-o-cauc.md").write_text(TEMA, encoding="utf-8")
    (root / "trilhas.yml").write_text(TRILHAS, encoding="utf-8")
    (root / "qa" / "3.2.2.yml").write_text(QA_ITEM, encoding="utf-8")
    (root / "qa" / "o-que-e-o-cauc.yml").write_text(QA_TEMA, encoding="utf-8")
    (root / "entidades.yml").write_text(SYSTEMS, encoding="utf-8")
    (root / "dev.yml").write_text(DEV, encoding="utf-8")
    (root / "fontes.yml").write_text(SOURCES, encoding="utf-8")
    return root
