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
from scipy.special import betaln, digamma, gammaln, hyp2f1


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
    # (found through one integer per history: np.unique over rows sorts ten times slower)
    x, t_x, T, weight = _distinct(x, t_x, T)
    # the special functions depend on x alone, which takes a few dozen values: they are
    # computed once per value (`k`) and spread to the histories by index (`at`)
    k, at = np.unique(x, return_inverse=True)
    repeat = x > 0
    t_rep = np.where(repeat, t_x, 0.0)  # x = 0 has no second term: any finite time will do

    def nll(logs: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient in the log parameters (analytic:
        a numeric one took 5 evaluations per step)."""
        r, alpha, a, b = np.exp(logs)
        b_k1 = np.maximum(b + k - 1, 1e-12)
        psi_abk = digamma(a + b + k)
        # per value of x
        beta_one, beta_two = betaln(a, b + k), betaln(a + 1, b_k1)
        head = gammaln(r + k) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        psi_b = digamma(b + k) - psi_abk
        psi_b1 = np.where(k > 0, digamma(b_k1) - psi_abk, 0.0)
        psi_r = digamma(r + k) - digamma(r) + np.log(alpha)
        # per history
        log_T, log_tx = np.log(alpha + T), np.log(alpha + t_rep)
        rx = r + x
        one = beta_one[at] - rx * log_T
        two = np.where(repeat, beta_two[at] - rx * log_tx, -np.inf)
        both = np.logaddexp(one, two)
        ll = head[at] + both
        w1, w2 = np.exp(one - both), np.exp(two - both)  # w2 = 0 without a repeat
        d_r = psi_r[at] - w1 * log_T - w2 * log_tx
        d_alpha = r / alpha - rx * (w1 / (alpha + T) + w2 / (alpha + t_rep))
        d_a = (digamma(a + b) - digamma(a) + w1 * (digamma(a) - psi_abk[at])
               + w2 * (digamma(a + 1) - psi_abk[at]))  # fmt: skip
        d_b = digamma(a + b) - digamma(b) + w1 * psi_b[at] + w2 * psi_b1[at]
        grad = np.array([weight @ d for d in (d_r, d_alpha, d_a, d_b)])
        return float(-(weight @ ll)), -grad * np.array([r, alpha, a, b])

    # bounded: on a store where nobody seems to leave, a -> 0 and b -> infinity (p -> 0),
    # where the expectation's hypergeometric series loses all precision
    bounds = [(-9.0, 9.0), (-9.0, 9.0), (-9.0, 9.0), (-9.0, 7.0)]
    start = np.log([0.5, 10.0, 1.5, 3.0])
    best = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return BgNbd(*(float(v) for v in np.exp(best.x)))


def _distinct(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct (x, t_x, T) of whole numbers once, and how many customers have it."""
    span = int(max(x.max(), T.max())) + 1  # t_x <= T
    keys = (x.astype(np.int64) * span + t_x.astype(np.int64)) * span + T.astype(np.int64)
    distinct, weight = np.unique(keys, return_counts=True)
    rest, T = np.divmod(distinct, span)
    x, t_x = np.divmod(rest, span)
    return x.astype(float), t_x.astype(float), T.astype(float), weight.astype(float)


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
    log_m, log_n = np.log(m), np.log(n)
    k, at = np.unique(n, return_inverse=True)  # as in fit_bgnbd: special functions per n
    tally = np.bincount(at).astype(float)
    n_log_mn = n @ (log_m + log_n)

    def nll(logs: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient in the log parameters."""
        p, q, g = np.exp(logs)
        pk = p * k
        spent = np.log(g + n * m)
        spent_by_n = np.bincount(at, weights=spent, minlength=len(k))
        n_spent = k @ spent_by_n
        ll = (
            tally @ (gammaln(pk + q) - gammaln(pk) - gammaln(q) + q * np.log(g))
            + p * n_log_mn - log_m.sum() - pk @ spent_by_n - q * spent.sum()
        )  # fmt: skip
        psi = digamma(pk + q)
        d_p = (tally * k) @ (psi - digamma(pk)) + n_log_mn - n_spent
        d_q = tally @ (psi - digamma(q)) + len(n) * np.log(g) - spent.sum()
        d_g = len(n) * q / g - ((p * n + q) / (g + n * m)).sum()
        return float(-ll), -np.array([d_p * p, d_q * q, d_g * g])

    start = np.log([2.0, 3.0, float(np.mean(m))])
    best = minimize(nll, start, jac=True, method="L-BFGS-B",
                    options={"ftol": 1e-13, "gtol": 1e-8})  # fmt: skip
    return GammaGamma(*(float(v) for v in np.exp(best.x)))
