"""Update dynamics of a tied matrix against an untied run's U and V (see docs/methods.md).

``track`` (a tied and an untied config of any registered family) trains the pair in lockstep and write ``dynamics.jsonl``;
``plot_dynamics`` draws the figures; ``read_dynamics`` loads the records for notebooks and reports.
The names are imported on first use, so that ``embedeval --help`` does not pay for torch.
"""

from embedeval.lazy import lazy_exports

_EXPORTS = {
    "TrackConfig": "embedeval.dynamics.tracker",
    "track": "embedeval.dynamics.tracker",
    "plot_dynamics": "embedeval.dynamics.plots",
    "read_dynamics": "embedeval.dynamics.records",
}


__getattr__ = lazy_exports("embedeval.dynamics", _EXPORTS)
__all__ = sorted(_EXPORTS)
