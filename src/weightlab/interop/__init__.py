"""The same schemes and regularizers in Keras 3 and MLX, and a translator between the
three frameworks' conventions.

- :mod:`weightlab.interop.keras`: initializers, regularizers, L1/decay steps and dropout
  as Keras objects (extra ``weightlab[keras]``).
- :mod:`weightlab.interop.mlx`: the same for MLX (extra ``weightlab[mlx]``).
- :mod:`weightlab.interop.translate`: map a setting from one framework to another, with
  the formula and caveats.
"""
