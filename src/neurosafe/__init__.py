"""neurosafe: NeuroAI for AI safety (Mineault et al. 2024, arXiv 2411.18526).

Digital twins, brain alignment, robustness and neuro-interpretability on one data model:
responses are validated ``xarray.DataArray`` objects, stimuli a ``StimulusSet``, every metric a ``Score``.
"""

__version__ = "0.1.0"
