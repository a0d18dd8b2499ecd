"""`als`: implicit-feedback matrix factorisation (the `implicit` library), optional:
`pip install 'ecom[recs]'`. Imported only when asked for, in `ecom recommend --evaluate`;
the core never needs it."""

from __future__ import annotations

from collections.abc import Callable

from ecomcli.errors import UsageError
from ecomcli.recommend.model import Inputs, Ranked, ranked

FACTORS, ITERATIONS, SEED = 64, 15, 42


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("implicit") is not None


def fit(train: dict[str, list[set[str]]], popular: list[tuple[str, int]]
        ) -> Callable[[str, Inputs], Ranked]:
    try:
        import numpy as np
        from implicit.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix
    except ImportError:
        raise UsageError("the als strategy needs the optional extra: pip install 'ecom[recs]'"
                         ) from None
    users = sorted(train)
    items = sorted(p for p, _ in popular)
    col = {p: i for i, p in enumerate(items)}
    rows, cols, vals = [], [], []
    for u, c in enumerate(users):
        counts: dict[int, int] = {}
        for basket in train[c]:
            for p in basket:
                counts[col[p]] = counts.get(col[p], 0) + 1
        for i, n in counts.items():
            rows.append(u)
            cols.append(i)
            vals.append(float(n))
    matrix = csr_matrix((vals, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)
    model = AlternatingLeastSquares(factors=FACTORS, iterations=ITERATIONS, random_state=SEED)
    model.fit(matrix, show_progress=False)
    row = {c: u for u, c in enumerate(users)}

    def rank(customer: str, inp: Inputs) -> Ranked:
        u = row[customer]
        ids, scores = model.recommend(u, matrix[u], N=50, filter_already_liked_items=False)
        found = {items[i]: float(s) for i, s in zip(ids, scores, strict=True)}
        return ranked(found, {p: "als: customers like you" for p in found})

    return rank
