"""What each line of a purchase was paid: line discounts, then the order's discount spread
over the lines. Exact, in integer minor units; the vectorised twin is
:func:`patron.rules.frame_inputs.with_paid_amounts`, and both evaluators score these amounts.

A line is worth ``net = quantity x unit_price - discount`` (its ``discount`` is money off the
whole line, not per unit). The purchase's ``total`` pays for the lines and the shipping; a
total below ``sum(net) + shipping`` means an order-level discount of

    D = min(sum(net) + shipping - total, sum(net))      (0 when the total is not below)

which never comes out of the shipping. ``D`` is spread over the lines in proportion to their
net value by the largest remainder: line ``i`` first takes ``floor(D x net_i / N)``
(``N = sum(net)``), then the ``D - sum of those`` minor units left over go one each to the
lines with the largest remainders ``D x net_i mod N``, ties to the earlier line. The shares
add up to ``D`` exactly, no line gives more than its net value, and a line worth 0 takes
nothing. A line was paid ``net_i - share_i``.
"""

from __future__ import annotations

from collections.abc import Sequence

from patron.rules.context import PurchaseContext


def order_discount(nets: Sequence[int], shipping: int, total: int) -> int:
    """The order-level discount ``D`` of a purchase (see the module docstring)."""
    goods = sum(nets)
    return max(0, min(goods + shipping - total, goods))


def allocate(nets: Sequence[int], discount: int) -> list[int]:
    """Each line's share of ``discount`` (``0 <= discount <= sum(nets)``), by the largest
    remainder with ties to the earlier line."""
    goods = sum(nets)
    if discount <= 0 or goods <= 0:
        return [0] * len(nets)
    shares = [discount * net // goods for net in nets]
    left = discount - sum(shares)
    ranked = sorted(range(len(nets)), key=lambda i: (-(discount * nets[i] % goods), i))
    for index in ranked[:left]:
        shares[index] += 1
    return shares


def paid_amounts(context: PurchaseContext) -> list[int]:
    """What each line of ``context`` was paid, in minor units."""
    nets = [line.net for line in context.lines]
    shares = allocate(nets, order_discount(nets, context.shipping, context.total))
    return [net - share for net, share in zip(nets, shares, strict=True)]
