"""Mean-field signal propagation and Jacobian spectra of deep random networks, computed
for any registered activation and measured beside real networks.

- :mod:`~weightlab.theory.meanfield`: the length and correlation maps, their fixed
  points ``q*`` and ``c*``, χ₁ and the depth scales ξ_q, ξ_c (Poole et al. 2016;
  Schoenholz et al. 2017);
- :mod:`~weightlab.theory.phase`: the (σ_w², σ_b²) phase diagram and where each scheme
  sits;
- :mod:`~weightlab.theory.correlation`: the correlation of input pairs through a real
  network beside the correlation map;
- :mod:`~weightlab.theory.spectrum`: singular values of the input–output Jacobian beside
  free probability (Pennington, Schoenholz & Ganguli 2017);
- :mod:`~weightlab.theory.figures`: their figures.

Example:
    >>> from weightlab.theory import critical_sigma_w2, mean_field
    >>> round(critical_sigma_w2("tanh", 0.0), 5), mean_field("relu", 2.0).phase
    (1.0, 'critical')
"""

from weightlab.theory.correlation import (
    CorrelationTrace,
    convergence_depth,
    correlation_trace,
    sampling_sd,
)
from weightlab.theory.figures import correlation_figure, phase_figure, spectrum_figure
from weightlab.theory.meanfield import (
    CRITICAL_TOLERANCE,
    MeanField,
    correlation_map,
    critical_sigma_w2,
    layer_predictions,
    length_map,
    mean_field,
    phase_of,
)
from weightlab.theory.networks import WEIGHTS, input_pair, pre_activations, random_mlp
from weightlab.theory.phase import (
    PHASE_SCHEMES,
    TORCH_DEFAULT,
    PhaseDiagram,
    SchemePoint,
    phase_diagram,
    scheme_point,
    scheme_sigma_w2,
)
from weightlab.theory.spectrum import (
    RESOLUTION,
    SpectrumRow,
    SpectrumStudy,
    free_moments,
    fuss_catalan,
    jacobian_singular_values,
    jacobian_spectra,
)

__all__ = [
    "CRITICAL_TOLERANCE",
    "PHASE_SCHEMES",
    "RESOLUTION",
    "TORCH_DEFAULT",
    "WEIGHTS",
    "CorrelationTrace",
    "MeanField",
    "PhaseDiagram",
    "SchemePoint",
    "SpectrumRow",
    "SpectrumStudy",
    "convergence_depth",
    "correlation_figure",
    "correlation_map",
    "correlation_trace",
    "critical_sigma_w2",
    "free_moments",
    "fuss_catalan",
    "input_pair",
    "jacobian_singular_values",
    "jacobian_spectra",
    "layer_predictions",
    "length_map",
    "mean_field",
    "phase_diagram",
    "phase_figure",
    "phase_of",
    "pre_activations",
    "random_mlp",
    "sampling_sd",
    "scheme_point",
    "scheme_sigma_w2",
    "spectrum_figure",
]
