"""What weightlab.keras and Keras draw, compute and train on this process's Keras backend.

``python tests/interop/keras_fingerprint.py`` prints it as one JSON line;
``tests/interop/test_keras_backends.py`` runs it with ``KERAS_BACKEND`` set to each of
tensorflow, jax and torch and compares the three: weightlab's initializers must draw the
same numbers everywhere (they draw with torch), Keras' own random ops draw each backend's
own numbers, and training agrees to float32 rounding.
"""

from __future__ import annotations

import json
import os
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

SEED = 7
W = [[1.0, -2.0], [3.0, 0.5]]
PATH_SETTINGS = (
    "keras:SGD(learning_rate=0.05) + L2(0.01)",
    "keras:SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.1)",
    "keras:AdamW(learning_rate=0.01, weight_decay=0.1)",
)
"""Keras' own L2, its weight_decay and its Adam, trained for 20 steps."""


def fingerprint() -> dict[str, Any]:
    import keras
    import numpy as np
    from keras import ops

    from weightlab.interop.trajectory import make_problem, trajectory
    from weightlab.keras import L2, Dropout, Initializer, Penalty, initializer_schemes

    def listed(x: Any) -> Any:
        return np.asarray(ops.convert_to_numpy(x)).tolist()

    ones = ops.ones((64,))
    truncated = ops.convert_to_numpy(keras.random.truncated_normal((2000, 2000), seed=1))
    problem = make_problem((4, 5, 3), steps=20, seed=1)
    return {
        "backend": keras.backend.backend(),
        "initializers": {
            name: listed(Initializer(name, seed=SEED)((3, 3, 4, 5)))
            for name in initializer_schemes()
        },
        "float64": keras.backend.standardize_dtype(
            Initializer("normal", seed=SEED)((2, 2), dtype="float64").dtype
        ),
        "keras_glorot_normal": [
            listed(keras.initializers.GlorotNormal(seed=SEED)((4, 4))) for _ in range(2)
        ],
        "keras_truncated_outside": int(np.sum(np.abs(truncated) >= 2.0)),
        "keras_dropout": [
            listed(keras.layers.Dropout(0.5, seed=SEED)(ones, training=True)) for _ in range(2)
        ],
        "weightlab_dropout": [
            listed(Dropout(0.5, mode="classic", seed=SEED)(ones, training=True)) for _ in range(2)
        ],
        "penalties": [
            float(L2(0.01, convention="sum_sq")(ops.array(W))),
            float(Penalty("elastic_net(0.01, l1_ratio=0.3)")(ops.array(W))),
        ],
        "paths": {
            setting: {k: v.tolist() for k, v in trajectory(setting, problem, lr=0.05)[-1].items()}
            for setting in PATH_SETTINGS
        },
    }


if __name__ == "__main__":
    print(json.dumps(fingerprint()))
