"""Claims: what a spec says its runs show, judged with statistics.

A spec lists its story's claims (``claims:``, see :mod:`weightlab.claims.spec`); after
training, each is judged on the stored runs (:mod:`weightlab.claims.evaluate`): *holds*,
*fails* or *inconclusive*, with the effect, a 95% interval and the test used.
"""

from weightlab.claims.evaluate import Verdict, evaluate, evaluate_all
from weightlab.claims.metrics import METRICS, RunView, parse_metric
from weightlab.claims.spec import Claim, Selector, check_claims, parse_selector
from weightlab.claims.stats import Interval, bootstrap_interval, t_interval, t_quantile

__all__ = [
    "METRICS",
    "Claim",
    "Interval",
    "RunView",
    "Selector",
    "Verdict",
    "bootstrap_interval",
    "check_claims",
    "evaluate",
    "evaluate_all",
    "parse_metric",
    "parse_selector",
    "t_interval",
    "t_quantile",
]
