"""Portuguese text normalisation shared by indexing and querying (the sparse side).

spaCy ``blank("pt")`` tokenisation with lookup lemmas (spacy-lookups-data), accent and
case folding, stop words, light plural stripping, and CAUC synonyms expanded to their
canonical terms ("certidão previdenciária" → crp, "anexo 8" → siope). Acronyms
(RREO, SIOPE, CRP…) and item codes (3.2.1) stay whole tokens.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from index.text import fold

ITEM_CODE = re.compile(r"^\d(\.\d){1,2}$")

# Never stemmed: acronyms and system names whose plural-looking endings matter.
PROTECTED = {
    "siops", "siope", "rreo", "rgf", "dca", "msc", "crp", "cnd", "cpend", "cadin", "fgts",
    "siafic", "siafi", "sadipem", "cdp", "vaat", "vaar", "vaaf", "fundeb", "siconfi", "cauc",
    "lrf", "ppp", "aro", "rpps", "rgps", "pgfn", "rfb", "stn", "fnde", "ascs", "asps", "mde",
    "osc", "tcu", "stj", "agu", "stf", "cadprev", "gescon", "sahem", "crf", "ibge", "cnpj",
    "transferegov", "dctfweb", "reinf", "draa", "dipr", "dpin", "dair", "rcl", "pcasp",
}

# Phrases people use -> canonical terms added to the tokens (expansion, not replacement).
SYNONYMS: dict[str, str] = {
    "certidão previdenciária": "crp",
    "certificado de regularidade previdenciária": "crp",
    "regime próprio": "rpps",
    "anexo 8": "siope",
    "educação no rreo": "siope",
    "anexo 12": "siops",
    "saúde no rreo": "siops",
    "relatório resumido da execução orçamentária": "rreo",
    "relatório resumido": "rreo",
    "relatório de gestão fiscal": "rgf",
    "matriz de saldos contábeis": "msc",
    "declaração de contas anuais": "dca",
    "contas anuais": "dca",
    "cadastro da dívida pública": "cdp",
    "fundo de garantia": "fgts",
    "certidão negativa": "cnd",
    "certidão conjunta": "cnd",
    "dívida ativa": "pgfn",
    "plataforma mais brasil": "transferegov",
    "siconv": "transferegov",
    "parceria público-privada": "ppp",
    "parcerias público-privadas": "ppp",
    "antecipação de receita": "aro",
    "receita corrente líquida": "rcl",
    "lei de responsabilidade fiscal": "lrf",
    "precatório": "precatorio",
    "portal da transparência": "transparencia",
    "iptu": "competência tributária",
    "iss": "competência tributária",
    "itbi": "competência tributária",
    "impostos municipais": "competência tributária",
    "anexo 13": "ppp",
    "anexo 4": "operação de crédito",
    "crf": "fgts",
    "emenda pix": "transferência especial",
    "emendas pix": "transferência especial",
    "prefeito anterior": "gestão anterior",
    "ex-prefeito": "gestão anterior",
    "gestão passada": "gestão anterior",
    "administração anterior": "gestão anterior",
}

STOP_EXTRA: set[str] = set()  # extra stop words beyond spaCy's Portuguese list


def _strip_plural(word: str) -> str:
    if word in PROTECTED or len(word) <= 4:
        return word
    for suffix, repl in (("oes", "ao"), ("aes", "ao"), ("ais", "al"), ("eis", "el"),
                         ("res", "r"), ("ns", "m")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class PortugueseAnalyzer:
    """Text -> normalised tokens. Loads spaCy lazily; thread-safe after warm-up."""

    def __init__(self, pipeline: str = "blank:pt") -> None:
        self.pipeline = pipeline
        self._nlp: Any = None
        self._stop: set[str] = set()
        self._synonyms: list[tuple[list[str], list[str]]] = []
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._nlp is not None:
            return
        with self._lock:
            if self._nlp is not None:
                return
            import spacy

            if self.pipeline.startswith("blank:"):
                nlp = spacy.blank(self.pipeline.removeprefix("blank:"))
                nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
                nlp.initialize()
            else:  # an installed pipeline such as pt_core_news_sm
                nlp = spacy.load(self.pipeline, disable=["parser", "ner"])
            self._stop = {fold(w) for w in nlp.Defaults.stop_words} | STOP_EXTRA
            self._nlp = nlp
            self._synonyms = [(self._base_tokens(k), self._base_tokens(v))
                              for k, v in SYNONYMS.items()]

    def _base_tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for token in self._nlp(text):
            if token.is_punct or token.is_space:
                continue
            surface = fold(token.text).strip(".")
            if not surface:
                continue
            if ITEM_CODE.match(surface):
                tokens.append(surface)
                continue
            if surface in self._stop:
                continue
            if surface in PROTECTED or token.text.isupper():
                tokens.append(surface)
                continue
            lemma = fold(token.lemma_ or token.text)
            tokens.append(_strip_plural(lemma if lemma.isalnum() else surface))
        return tokens

    def tokens(self, text: str) -> list[str]:
        self.warm_up()
        tokens = self._base_tokens(text)
        extra: list[str] = []
        for key, value in self._synonyms:
            n = len(key)
            if n and any(tokens[i:i + n] == key for i in range(len(tokens) - n + 1)):
                extra.extend(value)
        return tokens + extra
