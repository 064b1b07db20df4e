"""Why a verification problem matters, in Japanese and English, for the people who read it.

Privacy officers read verification results, not Merkle trees, so each problem code comes with a
sentence in both languages that says what was found and what it implies.
"""

from __future__ import annotations

from typing import Any

REASONS: dict[str, tuple[str, str]] = {
    "row changed": (
        "封印後にこのイベント行、またはそのイベントが触れた本人の一覧（access_subjects）が変更されています"
        "（UPDATE・DELETE・INSERT）。記録時の内容とは一致しません。",
        "This event row, or the list of data subjects it touched (access_subjects), was changed after it"
        " was sealed (UPDATE, DELETE or INSERT); it no longer matches what was recorded.",
    ),
    "row inserted": (
        "封印済みのイベントの間に、封印されていないイベント行が差し込まれています（INSERT）。"
        "取り込みはイベントを番号順に、書き込みと同じトランザクションで封印するため、kansa の経路では生じません。",
        "An unsealed event row was slipped in among sealed ones (INSERT). Ingest numbers events in order and"
        " seals them in the transaction that writes them, so this does not happen through kansa.",
    ),
    "row duplicated": (
        "封印済みのイベントと同じ番号の行がもう一つあります（INSERT による複製）。イベントの件数や内容が水増しされています。",
        "A second row carries a sealed event's id (a copy was INSERTed): events were added under an id"
        " that was sealed once.",
    ),
    "row deleted": (
        "封印済みのイベント行が削除されています（DELETE）。",
        "A sealed event row has been deleted (DELETE).",
    ),
    "leaf missing": (
        "台帳（ledger_leaves）自体から行が削除されています。",
        "A row was removed from the ledger itself (ledger_leaves).",
    ),
    "leaf duplicated": (
        "台帳（ledger_leaves）に同じ位置の葉が複数あります（行の挿入）。",
        "The ledger itself holds two leaves at the same position (a row was inserted into ledger_leaves).",
    ),
    "bad signature": (
        "署名付きツリーヘッドの署名が公開鍵で検証できません（改ざん、または鍵の差し替え）。",
        "A signed tree head's signature does not verify with the public key (altered, or the key was replaced).",
    ),
    "ledger shorter than head": (
        "署名済みヘッドが示す件数より台帳が短くなっています（末尾の削除）。",
        "The ledger is shorter than a signed head says it was (entries removed from the end).",
    ),
    "root mismatch": (
        "現在の行から再計算したルートが署名済みヘッドと一致しません（行と葉ハッシュの両方が書き換えられた可能性）。",
        "The root recomputed from today's rows differs from a signed head (rows and leaf hashes rewritten together?).",
    ),
    "leaves beyond the last signed head": (
        "最後の署名済みヘッドより後に、署名のない葉が追加されています。",
        "Leaves were added after the last signed head without a signature.",
    ),
}


def explain(problem: dict[str, Any]) -> dict[str, Any]:
    """The problem with ``reason_ja`` and ``reason_en`` added (the code itself when unknown)."""
    ja, en = REASONS.get(str(problem.get("problem")), (str(problem.get("problem")),) * 2)
    return {**problem, "reason_ja": ja, "reason_en": en}
