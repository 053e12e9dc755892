"""cpstem: evaluating stem-cell therapy in cerebral palsy.

Layers: ``measures`` (clinical scales), ``reference`` (motor-development curves),
``evidence`` (meta-analysis), ``outcomes``, ``registry`` (Django), ``cli``.
"""

__version__ = "0.1.0"
