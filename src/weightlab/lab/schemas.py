"""The lab's request bodies: every input with its type, default and limits.

Each field is made by one helper that sets the bounds pydantic enforces and the phrase
the error message uses (``"an int in [1, 20]"``), so the limits in the OpenAPI schema,
the checks and the messages cannot drift apart.  Models are strict (``"3"`` is not an
int, ``true`` is not a number), refuse unknown fields and non-finite numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from weightlab._validate import Interval, OneOf, fail
from weightlab.init import resolve
from weightlab.models.budget import Estimate, mlp_network, training_estimate
from weightlab.regularize import REGISTRY, Param, Term, make_term, term_names

__all__ = [
    "FEATURES",
    "LIMITS",
    "MEASURE_BATCH",
    "PLANE_SETS",
    "RACE_INITS",
    "REGRESSION_SETS",
    "Activation",
    "Count",
    "DatasetName",
    "Feature",
    "InitSetup",
    "LandscapeQuery",
    "PlayRequest",
    "RaceSetup",
    "RegularizationSetup",
    "Setup",
    "StepRequest",
    "TheoryPhaseQuery",
    "TheoryPointQuery",
    "expected",
]

DatasetName = Literal[
    "circle", "xor", "gauss", "spiral", "moons", "plane", "multigauss", "digits", "mnist1d"
]
Feature = Literal["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
Activation = Literal["linear", "relu", "tanh", "sigmoid", "leaky_relu", "selu", "gelu", "silu"]
Optimizer = Literal["sgd", "adam"]
Objective = Literal[
    "quadratic", "himmelblau", "rosenbrock", "beale", "rastrigin", "booth", "matyas", "model"
]
Penalty = Literal["none", "l1", "l2"]
GdRule = Literal["proximal", "clip", "subgradient"]
GridEncoding = Literal["json", "float32"]
Weights = Literal["gaussian", "orthogonal"]  # weightlab.theory.networks.WEIGHTS

TOY_SETS = ("circle", "xor", "gauss", "spiral", "moons")  # two-class 2-D sets
REGRESSION_SETS = ("plane", "multigauss")  # 2-D regression sets
PLANE_SETS = TOY_SETS + REGRESSION_SETS  # points of the plane: features, noise, ratio
FEATURES: tuple[str, ...] = get_args(Feature)
DEFAULT_FEATURES: list[Feature] = ["x1", "x2"]
MNIST1D_TRAIN = 4000
# The init race's classic contestants: zeros, too small, too large, Xavier, He.
RACE_INITS = ["zeros", "normal(std=0.01)", "normal", "xavier_normal", "he_normal"]

# Limits on what one request may ask for (the server-wide ones, sessions and concurrent
# trainings, are settings of the app).  docs/lab.md shows this table.
LIMITS: dict[str, tuple[float, float]] = {
    "depth": (1, 20),
    "width": (1, 512),
    "n_samples": (20, 5000),
    "batch_size": (1, 512),
    "lr": (0.0, 10.0),
    "term_value": (0.0, 10.0),
    "max_steps": (1, 20_000),
    "steps": (1, 1000),
    "steps_per_frame": (1, 100),
    "grid": (20, 200),
    "trajectory_steps": (1, 2000),
    "lam": (0.0, 1000.0),
    "start": (-1e4, 1e4),
    "init_length": (1, 120),
    "train_fraction": (0.1, 0.9),
    "arms": (1, 6),
    "sigma_w": (0.0, 2.0),  # the phase diagram's window: σ_w² in [0, 4]
    "sigma_b": (0.0, 0.5),  # and σ_b² in [0, 0.25]
    "theory_depth": (1, 50),
    "theory_width": (16, 256),
}

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
MEASURE_BATCH = 128  # inputs the init explorer measures each frame (lab.explore)


def _whole(value: Any) -> Any:
    """A whole-number float (``155.0``) as the int it is: JSON Schema's ``integer``
    includes it.  Other values pass unchanged, so ``155.5`` is still refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_whole)]
"""An int field that also takes whole-number floats; booleans and strings are refused."""


def _number(
    default: Any,
    limit: str,
    doc: str,
    *,
    integer: bool = False,
    closed: str = "both",
    optional: bool = False,
) -> Any:
    """A bounded number field; ``limit`` names its row of :data:`LIMITS`."""
    low, high = LIMITS[limit]
    phrase = Interval(low, high, closed, integer=integer).describe()
    if optional:
        phrase += " or null"
    low_value, high_value = (int(low), int(high)) if integer else (low, high)
    low_closed, high_closed = closed in ("both", "left"), closed in ("both", "right")
    return Field(
        default=default,
        description=f"{doc}: {phrase}.",
        json_schema_extra={"expected": phrase},
        ge=low_value if low_closed else None,
        gt=None if low_closed else low_value,
        le=high_value if high_closed else None,
        lt=None if high_closed else high_value,
    )


def _choice(default: Any, options: Any, doc: str) -> Any:
    """A field taking one of the values of a ``Literal`` type."""
    phrase = OneOf(tuple(get_args(options))).describe()
    return Field(
        default=default, description=f"{doc}: {phrase}.", json_schema_extra={"expected": phrase}
    )


def _flag(default: bool, doc: str) -> Any:
    return Field(
        default=default, description=f"{doc}: a bool.", json_schema_extra={"expected": "a bool"}
    )


def expected(info: FieldInfo) -> str:
    """The phrase completing "must be ..." for a field made by this module's helpers."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "expected" in extra:
        return str(extra["expected"])
    return "a valid value"


Width = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=int(LIMITS["width"][1]))]
Scheme = Annotated[str, Field(min_length=1, max_length=int(LIMITS["init_length"][1]))]
SCHEME_EXPECTED = "a scheme name or spec of at most 120 characters"


def _scheme(default: str, doc: str) -> Any:
    return Field(
        default=default,
        min_length=1,
        max_length=int(LIMITS["init_length"][1]),
        description=doc,
        json_schema_extra={"expected": SCHEME_EXPECTED},
    )


def _samples(default: int | None) -> Any:
    """The ``n_samples`` field of a section's data, with its default."""
    return _number(
        default,
        "n_samples",
        "Points of a 2-D set or MNIST-1D training series (at most 4000); null for the "
        "dataset's default, and for digits",
        integer=True,
        optional=True,
    )


def _noise(default: float) -> Any:
    """The ``noise`` field of a section's 2-D data, with its default."""
    return Field(
        default=default,
        ge=0.0,
        le=0.5,
        description="Noise of a 2-D set: a float in [0, 0.5].",
        json_schema_extra={"expected": "a float in [0, 0.5]"},
    )


class Setup(BaseModel):
    """Dataset, network and optimizer: what every trained section shares.

    The defaults are those of the init explorer and the init race: an 8-layer tanh MLP
    of width 32 on the circle set, deep enough that a too small or too large scale shows
    (tests/lab/test_race.py holds the lesson to its numbers).
    """

    model_config = ConfigDict(**STRICT, title="setup")

    dataset: DatasetName = _choice("circle", DatasetName, "Dataset")
    n_samples: Count | None = _samples(None)
    noise: float = _noise(0.1)
    train_fraction: float | None = _number(
        None,
        "train_fraction",
        "Share of the samples used for training, the rest for validation (the "
        "Playground's train/test ratio); null for the dataset's own split (half for the "
        "2-D sets), and for mnist1d",
        optional=True,
    )
    features: list[Feature] = Field(
        default_factory=lambda: list(DEFAULT_FEATURES),
        min_length=1,
        max_length=len(FEATURES),
        description="Inputs the network sees, computed from a 2-D point (the Playground's "
        "feature transforms): a list of distinct features from "
        + ", ".join(repr(f) for f in FEATURES)
        + "; only ['x1', 'x2'] for the other datasets.",
        json_schema_extra={
            "expected": "a list of distinct features from " + ", ".join(repr(f) for f in FEATURES),
            "uniqueItems": True,
        },
    )
    depth: Count = _number(8, "depth", "Hidden layers (when widths is null)", integer=True)
    width: Count = _number(
        32, "width", "Units per hidden layer (when widths is null)", integer=True
    )
    widths: list[Width] | None = Field(
        default=None,
        min_length=int(LIMITS["depth"][0]),
        max_length=int(LIMITS["depth"][1]),
        description="Units of each hidden layer, first to last: a list of 1 to 20 ints in "
        "[1, 512], or null for depth layers of width (give widths or depth and width, not "
        "both).",
        json_schema_extra={"expected": "a list of 1 to 20 ints in [1, 512] or null"},
    )
    activation: Activation = _choice("tanh", Activation, "Hidden activation")
    seed: Count = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Seed of the data, the init and the batch order: an int in [0, 2147483647].",
        json_schema_extra={"expected": "an int in [0, 2147483647]"},
    )
    optimizer: Optimizer = _choice("sgd", Optimizer, "Optimizer")
    lr: float = _number(0.1, "lr", "Learning rate (changes a running training)", closed="right")
    batch_size: Count = _number(
        32, "batch_size", "Minibatch size (changes a running training)", integer=True
    )
    max_steps: Count = _number(
        5000, "max_steps", "Training stops after this many steps", integer=True
    )

    # Networks the section trains side by side from this setup.
    NETWORKS: ClassVar[int] = 1
    # Settings a running training takes on without starting again; any other change
    # builds the section anew at step 0.
    LIVE: ClassVar[frozenset[str]] = frozenset({"lr", "batch_size", "max_steps"})

    def hidden(self) -> list[int]:
        """Units of each hidden layer."""
        return list(self.widths) if self.widths is not None else [self.width] * self.depth

    def networks(self) -> int:
        """How many networks the section trains at once."""
        return self.NETWORKS

    def live_fields(self) -> frozenset[str]:
        """The fields (by their names in the request) a running training takes on."""
        return self.LIVE

    def changes(self, other: Setup) -> tuple[list[str], list[str]]:
        """The fields that differ from ``other``: those a running training can take on,
        and those that need a new start."""
        mine, theirs = self.model_dump(by_alias=True), other.model_dump(by_alias=True)
        changed = [k for k in mine if mine[k] != theirs.get(k)]
        live = self.live_fields()
        return [k for k in changed if k in live], [k for k in changed if k not in live]

    def memory(self) -> Estimate:
        """What the section's networks hold while they train and are measured: weights,
        gradients, optimizer state and a batch's activations, counted without the
        dataset's input and output sizes (at most 64 and 10, small beside the hidden
        layers)."""
        network = mlp_network(1, self.hidden(), 1)
        return training_estimate(
            network,
            batch=max(self.batch_size, MEASURE_BATCH),
            optimizer=self.optimizer,
            models=self.networks(),
            kind="networks",
        )

    @field_validator("features")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            expected = "a list of distinct features from " + ", ".join(repr(f) for f in FEATURES)
            raise fail(str(cls.model_config.get("title")), "features", expected, value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Setup:
        owner = str(self.model_config.get("title"))
        if self.widths is not None and {"depth", "width"} & self.model_fields_set:
            given = " and ".join(k for k in ("depth", "width") if k in self.model_fields_set)
            raise fail(
                owner, "widths", f"null when {given} is given (widths sets both)", self.widths
            )
        if self.dataset not in PLANE_SETS and self.features != DEFAULT_FEATURES:
            expected = f"['x1', 'x2'] for {self.dataset} (feature transforms are for the 2-D sets)"
            raise fail(owner, "features", expected, self.features)
        if self.dataset not in PLANE_SETS and "n_samples" not in self.model_fields_set:
            self.n_samples = None  # a section's default size is for its 2-D sets
        if self.dataset == "mnist1d" and self.train_fraction is not None:
            expected = "null for mnist1d (its 4000/1000 split is fixed)"
            raise fail(owner, "train_fraction", expected, self.train_fraction)
        if self.n_samples is None:
            return self
        if self.dataset == "digits":
            raise fail(owner, "n_samples", "null for digits (its 1797 images)", self.n_samples)
        if self.dataset == "mnist1d" and self.n_samples > MNIST1D_TRAIN:
            expected = f"an int in [20, {MNIST1D_TRAIN}] for mnist1d (its training series)"
            raise fail(owner, "n_samples", expected, self.n_samples)
        return self


class InitSetup(Setup):
    """The init explorer: one network, measured at every frame."""

    model_config = ConfigDict(**STRICT, title="init setup")

    init: str = _scheme(
        "xavier_normal",
        "Initialization scheme: a name from GET /api/meta or a spec such as "
        "'normal(std=0.01)'; xavier_fan_in is the seed's 1/n rule, lsuv is data-dependent.",
    )
    gain_from_activation: bool = _flag(False, "Set each layer's gain from its activation")

    @field_validator("init")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        return str(resolve(value, "init setup", "init"))


class RaceSetup(Setup):
    """The init race: one network and dataset trained in lockstep from several inits."""

    model_config = ConfigDict(**STRICT, title="race setup")

    inits: list[Scheme] = Field(
        default_factory=lambda: list(RACE_INITS),
        min_length=int(LIMITS["arms"][0]),
        max_length=int(LIMITS["arms"][1]),
        description="The schemes that race, each a name or spec as in the init setup: a "
        "list of 1 to 6 distinct specs of at most 120 characters.",
        json_schema_extra={
            "expected": "a list of 1 to 6 distinct scheme specs of at most 120 characters",
            "uniqueItems": True,
        },
    )
    gain_from_activation: bool = _flag(False, "Set each layer's gain from its activation")
    max_steps: Count = _number(
        500, "max_steps", "Training stops after this many steps", integer=True
    )

    @field_validator("inits")
    @classmethod
    def _known_schemes(cls, value: list[str]) -> list[str]:
        schemes = [str(resolve(v, "race setup", "inits")) for v in value]
        if len(set(schemes)) != len(schemes):
            expected = "a list of 1 to 6 distinct scheme specs of at most 120 characters"
            raise fail("race setup", "inits", expected, value)
        return schemes

    def networks(self) -> int:
        return len(self.inits)


class _RegularizationBase(Setup):
    """The regularization explorer: a regularized and a plain network side by side."""

    model_config = ConfigDict(**STRICT, title="regularization setup")
    NETWORKS: ClassVar[int] = 2  # the regularized network and its plain twin

    # A small noisy circle that a wide network overfits: the plain twin's boundary
    # wanders around the noise while the regularized one stays smooth.
    dataset: DatasetName = _choice("circle", DatasetName, "Dataset")
    n_samples: Count | None = _samples(100)
    noise: float = _noise(0.3)
    depth: Count = _number(2, "depth", "Hidden layers (when widths is null)", integer=True)
    width: Count = _number(
        64, "width", "Units per hidden layer (when widths is null)", integer=True
    )
    activation: Activation = _choice("relu", Activation, "Hidden activation")
    init: str = _scheme("he_normal", "Initialization scheme, as in the init setup.")
    gain_from_activation: bool = _flag(False, "Set each layer's gain from its activation")
    regularizer: str = Field(
        default="l1",
        description="Regularizer of the left network: "
        + OneOf(("none", *term_names())).describe()
        + ".",
        json_schema_extra={
            "expected": OneOf(("none", *term_names())).describe(),
            "enum": ["none", *term_names()],
        },
    )

    @field_validator("init")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        return str(resolve(value, "regularization setup", "init"))

    def live_fields(self) -> frozenset[str]:
        """Besides the optimizer's settings, every parameter of the chosen term except
        dropout's mode (which changes what the network computes at test time)."""
        return self.LIVE | {
            term_field(entry.name, p.name)
            for entry in REGISTRY.values()
            for p in entry.params
            if (entry.name, p.name) != ("dropout", "mode")
        }

    @field_validator("regularizer")
    @classmethod
    def _known_term(cls, value: str) -> str:
        options = ("none", *term_names())
        if value not in options:
            raise fail("regularization setup", "regularizer", OneOf(options).describe(), value)
        return value

    def term(self) -> Term | None:
        """The chosen term with its parameters (None for ``none``)."""
        if self.regularizer == "none":
            return None
        values = self.model_dump(by_alias=True)
        entry = REGISTRY[self.regularizer]
        params = {p.name: values[term_field(entry.name, p.name)] for p in entry.params}
        return make_term(entry.name, **params)

    def spec(self) -> str:
        """The regularization as a :func:`weightlab.regularize.parse_regularization` string."""
        term = self.term()
        return "none" if term is None else str(term)


def term_field(term: str, param: str) -> str:
    """The form field of a term's parameter: ``"l1.strength"``."""
    return f"{term}.{param}"


def _term_fields() -> dict[str, Any]:
    """One form field per parameter of every registered term, with the registry's rule
    (numbers also capped by :data:`LIMITS` ``term_value``) and starting value."""
    fields: dict[str, Any] = {}
    for entry in REGISTRY.values():
        for param in entry.params:
            name = term_field(entry.name, param.name)
            fields[name.replace(".", "__")] = _param_field(entry.name, param, name)
    return fields


def _param_field(term: str, param: Param, alias: str) -> Any:
    doc = f"{param.name} of {term} (when the regularizer is {term})"
    rule = param.rule
    if isinstance(rule, OneOf):
        kind: Any = Literal[rule.options]
        field = Field(
            default=param.start,
            alias=alias,
            description=f"{doc}: {rule.describe()}.",
            json_schema_extra={"expected": rule.describe()},
        )
        return (kind, field)
    if isinstance(rule, Interval):
        cap = LIMITS["term_value"][1]
        high = min(rule.high, cap)
        capped = "both" if rule.closed in ("both", "left") else "right"
        closed = rule.closed if high == rule.high else capped
        bounded = Interval(rule.low, high, closed, integer=rule.integer)
        phrase = bounded.describe()
        left = closed in ("both", "left")
        right = closed in ("both", "right")
        field = Field(
            default=param.start,
            alias=alias,
            description=f"{doc}: {phrase}.",
            json_schema_extra={"expected": phrase},
            ge=rule.low if left else None,
            gt=None if left else rule.low,
            le=high if right else None,
            lt=None if right else high,
        )
        return (Count if rule.integer else float, field)
    field = Field(
        default=param.start,
        alias=alias,
        description=f"{doc}: {rule.describe()}.",
        json_schema_extra={"expected": rule.describe()},
    )
    return (bool if param.start in (True, False) else str, field)


if TYPE_CHECKING:
    RegularizationSetup = _RegularizationBase
else:
    RegularizationSetup = create_model(
        "RegularizationSetup",
        __base__=_RegularizationBase,
        __doc__=_RegularizationBase.__doc__,
        **_term_fields(),
    )
"""The regularization explorer's setup: the shared setup, ``regularizer`` (``none`` or
a registered term) and one field per parameter of every registered term (``l1.strength``,
``dropout.p``, ...), derived from :mod:`weightlab.regularize`'s registry."""


class StepRequest(BaseModel):
    """Train a paused session a few steps."""

    model_config = ConfigDict(**STRICT, title="step")

    steps: Count = _number(1, "steps", "Steps to take", integer=True)


class PlayRequest(BaseModel):
    """Train in the background, streaming a frame after every few steps."""

    model_config = ConfigDict(**STRICT, title="play")

    steps_per_frame: Count = _number(
        5,
        "steps_per_frame",
        "Steps between frames (more while they take under half the frame interval)",
        integer=True,
    )


Coordinate = Annotated[float, Field(ge=LIMITS["start"][0], le=LIMITS["start"][1])]


class LandscapeQuery(BaseModel):
    """A 2-D loss, its penalty at strength λ, and gradient descent from a point."""

    model_config = ConfigDict(**STRICT, title="landscape")

    function: Objective = _choice("quadratic", Objective, "Loss J(w1, w2)")
    penalty: Penalty = _choice("l1", Penalty, "Penalty added to J")
    lam: float | None = _number(
        None, "lam", "Penalty strength λ; null for the function's default", optional=True
    )
    grid: Count = _number(80, "grid", "Contour points per axis", integer=True)
    start: list[Coordinate] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="Where gradient descent starts: a pair of finite floats in "
        "[-10000, 10000]; null for the function's default.",
        json_schema_extra={"expected": "a pair of floats in [-10000, 10000] or null"},
    )
    lr: float | None = _number(
        None,
        "lr",
        "Gradient-descent step size; null for the function's default",
        closed="right",
        optional=True,
    )
    steps: Count = _number(200, "trajectory_steps", "Gradient-descent steps", integer=True)
    rule: GdRule = _choice("proximal", GdRule, "How the L1 step treats weights near zero")
    encoding: GridEncoding = _choice(
        "json",
        GridEncoding,
        "How the grids total and loss come back: json, lists of rows rounded to 5 "
        "significant digits with null where a value is not finite; float32, a base64 "
        "string of little-endian float32, row-major [len(w2), len(w1)], NaN where a "
        "value is not finite (a tenth of the encoding time, the page's choice)",
    )


def _theory_width() -> Any:
    return _number(
        256,
        "theory_width",
        "Units per layer of the drawn networks (it also places normal(std=0.01) and "
        "torch's default on the diagram)",
        integer=True,
    )


class TheoryPhaseQuery(BaseModel):
    """The mean-field phase diagram of one activation and where the schemes sit."""

    model_config = ConfigDict(**STRICT, title="theory phase")

    activation: Activation = _choice("tanh", Activation, "Activation")
    width: Count = _theory_width()


class TheoryPointQuery(BaseModel):
    """One point (σ_w, σ_b) of the diagram: real networks drawn there, measured beside
    the mean-field maps, and their Jacobian spectrum beside free probability."""

    model_config = ConfigDict(**STRICT, title="theory point")

    activation: Activation = _choice("tanh", Activation, "Activation")
    sigma_w: float = _number(
        1.0, "sigma_w", "Weight scale σ_w: W ~ N(0, σ_w²/width), or σ_w times an orthogonal Q"
    )
    sigma_b: float = _number(0.0, "sigma_b", "Bias scale σ_b: b ~ N(0, σ_b²)")
    depth: Count = _number(20, "theory_depth", "Layers of the drawn networks", integer=True)
    width: Count = _theory_width()
    weights: Weights = _choice("gaussian", Weights, "Distribution of the weights")
