"""Update dynamics of a tied matrix against an untied run's U and V (DESIGN.md section 4).

``track_lm`` / ``track_skipgram`` train the pair in lockstep and write ``dynamics.jsonl``;
``plot_dynamics`` draws the figures; ``read_dynamics`` loads the records for notebooks and reports.
"""

from embedeval.dynamics.plots import plot_dynamics
from embedeval.dynamics.records import read_dynamics
from embedeval.dynamics.tracker import TrackConfig, track_lm, track_skipgram

__all__ = ["TrackConfig", "plot_dynamics", "read_dynamics", "track_lm", "track_skipgram"]
