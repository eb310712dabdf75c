"""The CAUC item catalogue (IN STN nº 8/2025): codes, groups and short titles."""

from __future__ import annotations

from dataclasses import dataclass

GROUPS: dict[str, str] = {
    "1": "I – Obrigações de Adimplência Financeira",
    "2": "II – Adimplemento na Prestação de Contas de Convênios",
    "3": "III – Obrigações de Transparência",
    "4": "IV – Adimplemento de Obrigações Constitucionais ou Legais",
    "5": "V – Cumprimento de Limites Constitucionais e Legais",
}


@dataclass(frozen=True)
class CaucItem:
    code: str
    title: str
    states_only: bool = False

    @property
    def group(self) -> str:
        return GROUPS[self.code.split(".")[0]]


ITEMS: tuple[CaucItem, ...] = (
    CaucItem("1.1", "Tributos federais, contribuições previdenciárias e Dívida Ativa da União"),
    CaucItem("1.2", "Pagamento de precatórios judiciais"),
    CaucItem("1.3", "Contribuições para o FGTS"),
    CaucItem("1.4", "Empréstimos e financiamentos concedidos pela União"),
    CaucItem("1.5", "Regularidade perante o Poder Público Federal (CADIN)"),
    CaucItem("2.1.1", "Prestação de contas de recursos federais (SIAFI)"),
    CaucItem("2.1.2", "Prestação de contas de recursos federais (Transferegov.br)"),
    CaucItem("3.1.1", "Publicação do RGF"),
    CaucItem("3.1.2", "Encaminhamento do RGF ao Siconfi"),
    CaucItem("3.2.1", "Publicação do RREO"),
    CaucItem("3.2.2", "Encaminhamento do RREO ao Siconfi"),
    CaucItem("3.2.3", "Anexo 8 do RREO ao SIOPE (educação)"),
    CaucItem("3.2.4", "Anexo 12 do RREO ao SIOPS (saúde)"),
    CaucItem("3.3", "Encaminhamento das contas anuais (DCA)"),
    CaucItem("3.4.1", "Matriz de Saldos Contábeis mensal"),
    CaucItem("3.4.2", "Matriz de Saldos Contábeis de encerramento"),
    CaucItem("3.5", "Cadastro da Dívida Pública (CDP)"),
    CaucItem("3.6", "Transparência da execução orçamentária e financeira"),
    CaucItem("3.7", "Adoção do SIAFIC"),
    CaucItem("4.1", "Exercício da plena competência tributária"),
    CaucItem("4.2", "Regularidade previdenciária (CRP)"),
    CaucItem("4.3", "Concessão de incentivos fiscais", states_only=True),
    CaucItem("5.1", "Aplicação mínima em educação (25%)"),
    CaucItem("5.2", "Aplicação mínima em saúde (15%)"),
    CaucItem("5.3", "Limite de despesas com PPP"),
    CaucItem("5.4", "Limite de operações de crédito, inclusive ARO"),
    CaucItem("5.5", "Fundeb: 70% para profissionais da educação básica"),
    CaucItem("5.6", "Complementação-VAAT: 15% em despesas de capital"),
    CaucItem("5.7", "Complementação-VAAT: 50% na educação infantil"),
    CaucItem("5.8", "Destinação mínima para a constituição do Fundeb", states_only=True),
)

BY_CODE: dict[str, CaucItem] = {item.code: item for item in ITEMS}
