"""`als`: implicit-feedback matrix factorisation (alternating least squares).

Fitting needs the optional `implicit` library (`pip install 'ecom[recs]'`); ranking does
not. `fit` learns one factor vector per product from the customer x product matrix (how
many of a customer's orders hold a product, counted in the database) and only those item
factors are kept (stored in the store by `tables.factors`). A customer's vector is solved
at ranking time from their history against the item factors, exactly as implicit's
`recalculate_user` does it, so a new order counts at once and no per-customer state is
stored:

    x_u = (Y'Y + reg I + sum_i (c_i - 1) y_i y_i')^-1 sum_i c_i y_i,  c_i = ALPHA * n_i

and every product scores y_p . x_u.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecomcli.errors import UsageError
from ecomcli.recommend.model import Inputs, Ranked, bought_before, ranked

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

FACTORS, ITERATIONS, REGULARIZATION, ALPHA, SEED = 64, 15, 0.01, 1.0, 42
DEPTH = 200  # candidates kept from the full ranking (more than any list shown)
REASON = "als: bought by customers who buy what you buy"  # or "bought before, ..."


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("implicit") is not None


@dataclass
class Factors:
    """The fitted item factors: `matrix[i]` is product `ids[i]`'s vector."""

    ids: list[str]
    matrix: np.ndarray
    index: dict[str, int] = field(init=False)
    y: np.ndarray = field(init=False)  # the matrix in doubles, for the solve
    gram: np.ndarray = field(init=False)  # Y'Y + reg I, shared by every customer

    def __post_init__(self) -> None:
        import numpy as np

        self.index = {p: i for i, p in enumerate(self.ids)}
        self.y = self.matrix.astype(np.float64)
        self.gram = self.y.T @ self.y + REGULARIZATION * np.eye(self.y.shape[1])


def fit(counts: Iterable[tuple[str, str, int]]) -> Factors:
    """Item factors from (customer_id, product_id, orders holding it) rows, in any order.
    The matrix is built with customers and products sorted, so the same rows give the same
    factors on every backend."""
    try:
        import numpy as np
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits  # an implicit dependency
    except ImportError:
        raise UsageError("the als strategy needs the optional extra: pip install 'ecom[recs]'"
                         ) from None
    matrix, items = _matrix(counts)
    if not items:
        raise UsageError("the als strategy needs order lines: the store has none")
    # implicit warns when BLAS runs its own threads under its solver's: run BLAS on one.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=FACTORS, iterations=ITERATIONS,
                                        regularization=REGULARIZATION, alpha=ALPHA,
                                        random_state=SEED)
        model.fit(matrix, show_progress=False)
    return Factors(items, np.asarray(model.item_factors, dtype=np.float32))


def _matrix(counts: Iterable[tuple[str, str, int]]) -> tuple[csr_matrix, list[str]]:
    """The customer x product matrix, rows and columns in id order (the same matrix from
    the same rows in any order), and the product ids. Ids are coded as they stream in, so
    memory holds one copy of each id and three numbers per row."""
    import numpy as np
    from scipy.sparse import csr_matrix

    users: dict[str, int] = {}
    items: dict[str, int] = {}
    u, i, n = array("i"), array("i"), array("f")
    for customer, product, orders in counts:
        u.append(users.setdefault(customer, len(users)))
        i.append(items.setdefault(product, len(items)))
        n.append(orders)
    user_ids, item_ids = sorted(users), sorted(items)
    row = _positions(users, user_ids)
    col = _positions(items, item_ids)
    matrix = csr_matrix(
        (np.frombuffer(n, np.float32), (row[np.frombuffer(u, np.int32)],
                                        col[np.frombuffer(i, np.int32)])),
        shape=(len(user_ids), len(item_ids)),
    )
    matrix.sort_indices()  # each row's products in id order, whatever order rows came in
    return matrix, item_ids


def _positions(codes: dict[str, int], in_order: list[str]) -> np.ndarray:
    """code -> position of its id in `in_order`."""
    import numpy as np

    out = np.empty(len(codes), np.int32)
    out[[codes[x] for x in in_order]] = np.arange(len(in_order), dtype=np.int32)
    return out


def scores(factors: Factors, history: dict[str, int]) -> np.ndarray:
    """Every product's score for a customer with this history (product -> orders)."""
    import numpy as np

    y = factors.y
    a = factors.gram.copy()
    b = np.zeros(y.shape[1])
    for p in sorted(history):  # a fixed order: the same float sums everywhere
        if (i := factors.index.get(p)) is None:
            continue  # bought after the factors were fitted
        c = ALPHA * history[p]
        b += c * y[i]
        a += (c - 1) * np.outer(y[i], y[i])
    return y @ np.linalg.solve(a, b)


def rank(inp: Inputs) -> Ranked:
    if inp.factors is None:
        raise UsageError("the als strategy needs fitted factors (ecom recommend --strategy als)")
    if not inp.history:
        return []
    import numpy as np

    s = scores(inp.factors, inp.history)
    top = np.argsort(-s, kind="stable")[:DEPTH]
    shown = {inp.factors.ids[i]: round(float(s[i]), 6) for i in top}
    return ranked(shown, {p: bought_before(inp.history[p]) if p in inp.history else REASON
                          for p in shown})
