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
    histories, weight = np.unique(np.stack([x, t_x, T], axis=1), axis=0, return_counts=True)
    x, t_x, T = histories.T
    repeat = x > 0

    def nll(logs: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient in the log parameters (analytic:
        a numeric one took 5 evaluations per step)."""
        r, alpha, a, b = np.exp(logs)
        b_x1 = np.maximum(b + x - 1, 1e-12)  # x = 0 has no second term
        one = betaln(a, b + x) - (r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            two = np.where(
                repeat, betaln(a + 1, b_x1) - (r + x) * np.log(alpha + t_x), -np.inf
            )
        both = np.logaddexp(one, two)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b) + both
        w1, w2 = np.exp(one - both), np.exp(two - both)  # w2 = 0 without a repeat
        psi_abx = digamma(a + b + x)
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + T) - w2 * (
            np.log(np.where(repeat, alpha + t_x, 1.0))
        )
        d_alpha = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
        d_a = (digamma(a + b) - digamma(a) + w1 * (digamma(a) - psi_abx)
               + w2 * (digamma(a + 1) - psi_abx))  # fmt: skip
        d_b = (digamma(a + b) - digamma(b) + w1 * (digamma(b + x) - psi_abx)
               + np.where(repeat, w2 * (digamma(b_x1) - psi_abx), 0.0))  # fmt: skip
        grad = np.array([(weight * d).sum() for d in (d_r, d_alpha, d_a, d_b)])
        return float(-(weight * ll).sum()), -grad * np.array([r, alpha, a, b])

    # bounded: on a store where nobody seems to leave, a -> 0 and b -> infinity (p -> 0),
    # where the expectation's hypergeometric series loses all precision
    bounds = [(-9.0, 9.0), (-9.0, 9.0), (-9.0, 9.0), (-9.0, 7.0)]
    start = np.log([0.5, 10.0, 1.5, 3.0])
    best = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=bounds)
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
    log_m, log_n = np.log(m), np.log(n)

    def nll(logs: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log-likelihood and its gradient in the log parameters."""
        p, q, g = np.exp(logs)
        pn, spent = p * n, np.log(g + n * m)
        ll = (
            gammaln(pn + q) - gammaln(pn) - gammaln(q) + q * np.log(g)
            + (pn - 1) * log_m + pn * log_n - (pn + q) * spent
        )  # fmt: skip
        psi = digamma(pn + q)
        d_p = (n * (psi - digamma(pn) + log_m + log_n - spent)).sum()
        d_q = (psi - digamma(q) + np.log(g) - spent).sum()
        d_g = (q / g - (pn + q) / (g + n * m)).sum()
        return float(-ll.sum()), -np.array([d_p * p, d_q * q, d_g * g])

    start = np.log([2.0, 3.0, float(np.mean(m))])
    best = minimize(nll, start, jac=True, method="L-BFGS-B",
                    options={"ftol": 1e-13, "gtol": 1e-8})  # fmt: skip
    return GammaGamma(*(float(v) for v in np.exp(best.x)))
