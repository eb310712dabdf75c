"""A minimal, valid knowledge tree written into a temporary folder (test data, invented
wording), so each validator test can break exactly one thing."""

from __future__ import annotations

from pathlib import Path

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

QA_ITEM = """item: "3.2.2"
perguntas:
  prazo:
    - prazo do rreo de teste?
  como_regularizar:
    - como envio o rreo de teste
"""

QA_TEMA = """tema: o-que-e-o-cauc
perguntas:
  - o que e o cauc de teste
"""

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
    return root
