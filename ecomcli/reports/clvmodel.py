"""Customer lifetime value: the BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting
your customers the easy way") and the Gamma-Gamma spend model (Fader, Hardie & Lee 2005,
"RFM and CLV"), fitted by maximum likelihood with scipy.

Inputs per customer, in days: `x` repeat purchase days, `t_x` the day of the last one
since the first purchase, `T` the customer's age (as-of day minus first purchase), and
`m` the mean spend per purchase day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def expected(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float) -> np.ndarray:
        """Expected purchases in the next `t` days (conditional on each history)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * tail * self.alive(x, t_x, T)

    def alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        return 1 / (1 + odds)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    # customers with the same history add the same term: each distinct (x, t_x, T) once,
    # weighted by how many have it (at 1M orders 160k customers, 54k histories)
    histories, weight = np.unique(np.stack([x, t_x, T], axis=1), axis=0, return_counts=True)
    x, t_x, T = histories.T

    def nll(logs: np.ndarray) -> float:
        r, alpha, a, b = np.exp(logs)
        one = betaln(a, b + x) - (r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            two = np.where(
                x > 0,
                betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b) + np.logaddexp(one, two)
        return float(-(weight * ll).sum())

    # bounded: on a store where nobody seems to leave, a -> 0 and b -> infinity (p -> 0),
    # where the expectation's hypergeometric series loses all precision
    bounds = [(-9.0, 9.0), (-9.0, 9.0), (-9.0, 9.0), (-9.0, 7.0)]
    best = minimize(nll, np.log([0.5, 10.0, 1.5, 3.0]), method="L-BFGS-B", bounds=bounds)
    return BgNbd(*(float(v) for v in np.exp(best.x)))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def mean(self, n: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Expected spend per purchase, given `n` purchases averaging `m`."""
        p, q, g = self.p, self.q, self.gamma
        return p * (g + n * m) / (p * n + q - 1)


def fit_gamma_gamma(n: np.ndarray, m: np.ndarray) -> GammaGamma:
    def nll(logs: np.ndarray) -> float:
        p, q, g = np.exp(logs)
        ll = (
            gammaln(p * n + q) - gammaln(p * n) - gammaln(q) + q * np.log(g)
            + (p * n - 1) * np.log(m) + p * n * np.log(n) - (p * n + q) * np.log(g + n * m)
        )  # fmt: skip
        return float(-ll.sum())

    start = np.log([2.0, 3.0, float(np.mean(m))])
    best = minimize(nll, start, method="Nelder-Mead",
                    options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6})  # fmt: skip
    return GammaGamma(*(float(v) for v in np.exp(best.x)))
