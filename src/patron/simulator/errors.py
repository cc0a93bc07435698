"""Errors of the simulator."""

from __future__ import annotations

from patron.kit.errors import InvalidInputError, PatronError


class SimulationInputError(InvalidInputError):
    """The options of a simulation do not fit together (a rate outside 0..1, a baseline
    program in another currency)."""

    code = "simulation_input_invalid"


class TiersNotSettledError(PatronError):
    """The tiers of the replay did not reach a fixed point within the round limit (only
    possible with limited rules that depend on the member's tier)."""

    code = "simulation_tiers_not_settled"
    status = 500
