"""Compute-optimal model size and data from Hoffmann et al. (2022), "Chinchilla", and
the inference-aware optimum of Sardana & Frankle (2023), "Beyond Chinchilla-Optimal".

Which of the paper's estimates each function uses:

- `loss`, `chinchilla_optimal`: approach 3, the parametric fit
  `L(N, D) = E + A / N^alpha + B / D^beta` with the published E = 1.69, A = 406.4,
  B = 410.7, alpha = 0.34, beta = 0.28, minimised under `C = 6 N D` in closed form:
  `N_opt = G (C/6)^a`, `D_opt = (C/6)^b / G`, `a = beta/(alpha+beta)`,
  `b = alpha/(alpha+beta)`, `G = (alpha A / (beta B))^(1/(alpha+beta))`.
  With these rounded constants the optimum is ~90 tokens per parameter at the
  Gopher budget (5.76e23 FLOPs: 32B parameters, 3.0T tokens), not the ~20 of
  approaches 1 and 2; Besiroglu et al. (2024) discuss this.
- `chinchilla_tokens`: approach 1 (minimum over training curves), the source of
  the paper's Table 3 (400M -> 8.0B tokens, 1B -> 20.2B, ..., 10T -> 216.2T).
  Approach 1 fits `N_opt ~ C^a`, `D_opt ~ C^b` with `a + b = 1` (as `C = 6 N D`),
  so `D_opt = 20.2e9 (N / 1e9)^(b/a)`. The paper prints a = b = 0.50 to two
  decimals; exactly 0.50 gives `D = 20.2 N`, up to 7% below Table 3 at 10T. The
  least-squares fit of the table's own rows (tokens = FLOPs / 6N, anchored at
  1B -> 20.2B) is a = 0.4981, b = 0.5019, which rounds to the printed 0.50 and
  reproduces every row to within 1% of its FLOPs column and 1.5% of its printed
  tokens, except the Gopher-budget row (67B: 1.40T against 1.43T from its FLOPs
  and a printed 1.5T); that is what we use.
- `inference_optimal`: Sardana & Frankle's problem, on the approach-3 loss:
  minimise `6 N D + 2 N D_inference` subject to `L(N, D) = target`.
"""

from __future__ import annotations

import dataclasses
import math

from pathways._errors import Problem
from pathways.plan._hardware import PlanError

# Approach 3 (Hoffmann et al. 2022, eq. 10 and section 3.3).
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
# Approach 1 exponents as fitted to Table 3 (see the module docstring); printed as 0.50 / 0.50.
APPROACH1_A = 0.4981
APPROACH1_B = 1.0 - APPROACH1_A
APPROACH1_TOKENS_AT_1B = 20.2e9


def loss(n: float, d: float) -> float:
    """Approach-3 predicted loss (nats/token on MassiveText) of `n` parameters trained on `d` tokens."""
    return E + A / n**ALPHA + B / d**BETA


@dataclasses.dataclass(frozen=True)
class Optimum:
    """A model size and training set: parameters, tokens, and what they cost and reach."""

    params: float
    tokens: float
    training_flops: float  # 6 N D
    loss: float

    def as_dict(self) -> dict[str, float]:
        return {**dataclasses.asdict(self), "tokens_per_param": self.tokens / self.params}


def chinchilla_optimal(compute: float) -> Optimum:
    """Approach 3: the `(N, D)` minimising `loss` under `6 N D = compute` (closed form)."""
    if compute <= 0:
        raise PlanError([Problem("--compute", f"must be positive, got {compute:g}")])
    a, b = BETA / (ALPHA + BETA), ALPHA / (ALPHA + BETA)
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n, d = g * (compute / 6) ** a, (compute / 6) ** b / g
    return Optimum(n, d, 6 * n * d, loss(n, d))


def chinchilla_tokens(params: float) -> float:
    """Approach 1 (Table 3): compute-optimal training tokens for a model of `params` parameters."""
    return APPROACH1_TOKENS_AT_1B * (params / 1e9) ** (APPROACH1_B / APPROACH1_A)


def tokens_for_loss(params: float, target: float) -> float:
    """Training tokens at which a model of `params` parameters reaches `target` (inf if it never does)."""
    gap = target - E - A / params**ALPHA
    return (B / gap) ** (1 / BETA) if gap > 0 else math.inf


@dataclasses.dataclass(frozen=True)
class InferenceOptimum:
    """Sardana & Frankle's optimum next to the Chinchilla-optimal model of equal loss."""

    inference_tokens: float
    target_loss: float
    optimal: Optimum
    chinchilla: Optimum

    @property
    def total_flops(self) -> float:
        return self.optimal.training_flops + 2 * self.optimal.params * self.inference_tokens

    @property
    def chinchilla_total_flops(self) -> float:
        return self.chinchilla.training_flops + 2 * self.chinchilla.params * self.inference_tokens

    def as_dict(self) -> dict:
        return {
            "inference_tokens": self.inference_tokens,
            "target_loss": self.target_loss,
            "optimal": {**self.optimal.as_dict(), "inference_flops": 2 * self.optimal.params * self.inference_tokens, "total_flops": self.total_flops},
            "chinchilla": {
                **self.chinchilla.as_dict(),
                "inference_flops": 2 * self.chinchilla.params * self.inference_tokens,
                "total_flops": self.chinchilla_total_flops,
            },
            "total_flops_saved": 1 - self.total_flops / self.chinchilla_total_flops,
        }


def inference_optimal(compute: float, inference_tokens: float) -> InferenceOptimum:
    """Minimise `6 N D + 2 N D_inf` subject to `loss(N, D) = loss` of `chinchilla_optimal(compute)`.

    On the constraint `D` is a function of `N`; the cost's derivative in `N`,
    `6 D (1 - alpha A N^-alpha / (beta u)) + 2 D_inf` with `u = target - E - A N^-alpha`,
    rises monotonically from -inf (where `u -> 0`) to above 0, so its one root is
    the minimum; it is found by bisection on `log N`. At the Chinchilla-optimal
    `N` the derivative is `2 D_inf >= 0`, so the optimum is never larger than it,
    and with `D_inf = 0` it is the Chinchilla optimum itself.
    """
    if inference_tokens < 0:
        raise PlanError([Problem("--inference-tokens", f"must be non-negative, got {inference_tokens:g}")])
    chin = chinchilla_optimal(compute)
    target = chin.loss

    def slope(log_n: float) -> float:
        n = math.exp(log_n)
        u = target - E - A * n**-ALPHA
        if u <= 0:
            return -math.inf
        d = (B / u) ** (1 / BETA)
        return 6 * d * (1 - ALPHA * A * n**-ALPHA / (BETA * u)) + 2 * inference_tokens

    lo = math.log(A / (target - E)) / ALPHA  # u = 0 here: no finite D reaches the target
    hi = math.log(chin.params)  # slope(hi) = 2 D_inf >= 0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    n = math.exp(hi)
    d = tokens_for_loss(n, target)
    return InferenceOptimum(inference_tokens, target, Optimum(n, d, 6 * n * d, loss(n, d)), chin)
