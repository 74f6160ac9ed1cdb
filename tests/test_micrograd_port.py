"""micrograd's demo, ported: its code with only the imports changed gives its published numbers.

``demo.ipynb`` of github.com/karpathy/micrograd trains MLP(2, [16, 16, 1]) on 100 moons with a
max-margin loss and prints the loss and accuracy of each of its 100 steps. The demo's code is
inlined below as it is, but for the two imports; micrograd itself is not needed. It seeds
Python's ``random`` (which micrograd's and ``nn.scalar``'s weights come from) and NumPy's
(which ``make_moons`` draws from).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

# published by micrograd's demo.ipynb, step 0 to 99
PUBLISHED_LOSSES = [
    0.8958441028683222,
    1.7235905336972022,
    0.7429006313851131,
    0.7705641260584198,
    0.3692793385976538,
    0.313545481918522,
    0.2814234349772435,
    0.26888733313983904,
    0.2567147286057417,
    0.2704862551637922,
    0.24507023853658053,
    0.2509905529791503,
    0.21560951851922952,
    0.23090378446402726,
    0.20152151227899445,
    0.22574506279282217,
    0.19447987596204114,
    0.21089496199246363,
    0.159830773563036,
    0.1845374874688392,
    0.18977522856087634,
    0.19072704042579647,
    0.11733695088756485,
    0.12173524408232454,
    0.1261571261277045,
    0.16049097780801674,
    0.18747197705245805,
    0.16741837891059408,
    0.09586583491455399,
    0.0877878370742091,
    0.11731297569011848,
    0.09340146460619836,
    0.12454454903103446,
    0.07984002652777272,
    0.07727519232921673,
    0.07661250143094483,
    0.10610492379198365,
    0.09062808429265976,
    0.10671887043036932,
    0.05225659921975849,
    0.06016009895234464,
    0.08596724533333942,
    0.051121079431796,
    0.052401424016428284,
    0.045306841790015734,
    0.07211073370655095,
    0.03334238651310234,
    0.03143222795751122,
    0.03658536747111507,
    0.04829139382390309,
    0.09875114765619622,
    0.05449063965875453,
    0.03392679435708309,
    0.05261517263568441,
    0.03250295251424923,
    0.02888327387207822,
    0.04139151104027239,
    0.018987407426128502,
    0.0252383352388374,
    0.02079656521341895,
    0.0325971115781023,
    0.017863351693480307,
    0.023008717832211683,
    0.022079325463581503,
    0.029432917853529684,
    0.01625151464409193,
    0.02846853448326446,
    0.013994365546208731,
    0.015552344843651405,
    0.0338911994616017,
    0.014229870065926908,
    0.013255281583285504,
    0.012300277590022063,
    0.012676052498355976,
    0.020593811955954763,
    0.011845398205364453,
    0.016012697472883086,
    0.025458360239222128,
    0.014382930289661911,
    0.011698962425817985,
    0.012318500800515763,
    0.014121117031464233,
    0.011664591962446225,
    0.011589314549188726,
    0.010990299347735226,
    0.01098922672069161,
    0.010988193757655071,
    0.010987200447388707,
    0.010986246779084925,
    0.010985332742365272,
    0.010984458327280174,
    0.010983623524308862,
    0.010982828324359073,
    0.010982072718767003,
    0.010981356699297042,
    0.010980680258141723,
    0.010980043387921506,
    0.010979446081684675,
    0.010978888332907229,
    0.010978370135492717,
]
PUBLISHED_ACCURACY = [  # percent
    50,
    81,
    77,
    82,
    84,
    86,
    89,
    91,
    91,
    91,
    91,
    92,
    91,
    93,
    92,
    93,
    92,
    93,
    94,
    93,
    91,
    93,
    97,
    95,
    95,
    95,
    92,
    95,
    97,
    96,
    95,
    97,
    95,
    97,
    97,
    98,
    96,
    99,
    95,
    98,
    100,
    96,
    99,
    97,
    100,
    97,
    99,
    100,
    99,
    99,
    96,
    99,
    100,
    97,
    99,
    100,
    98,
    100,
    100,
    100,
    99,
    100,
    100,
    100,
    99,
    100,
    99,
    100,
    100,
    99,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
    100,
]


def micrograd_demo() -> tuple[list[float], list[float], Any]:
    """The demo notebook's cells, with ``from micrograd...`` imports changed (and the plots
    and prints left out); returns the losses and accuracies it printed, and the model."""
    pytest.importorskip("sklearn", reason="the demo makes its data with sklearn's make_moons")
    import random

    import numpy as np

    from tinygrad_lite import Value  # was: from micrograd.engine import Value
    from tinygrad_lite.nn.scalar import MLP  # was: from micrograd.nn import Neuron, Layer, MLP

    np.random.seed(1337)
    random.seed(1337)

    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1

    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss(batch_size: int | None = None) -> tuple[Any, float]:
        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]

        # forward the model to get scores
        scores = list(map(model, inputs))

        # svm "max-margin" loss
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))  # noqa: UP034 (as written)
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    printed_loss, printed_accuracy = [], []
    for k in range(100):
        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        printed_loss.append(total_loss.data)  # print(f"step {k} loss {total_loss.data}, ...")
        printed_accuracy.append(acc * 100)
    return printed_loss, printed_accuracy, model


def test_micrograds_demo_gives_its_published_losses_and_accuracy() -> None:
    losses, accuracy, model = micrograd_demo()
    assert len(model.parameters()) == 337  # "number of parameters 337"
    # the final step, as the notebook prints it: loss 0.010978370135492717, accuracy 100.0%
    assert losses[-1] == pytest.approx(0.010978370135492717, rel=1e-13)
    assert accuracy[-1] == 100.0
    # every step: the same floats but for the last bits (a neuron's weighted sum is one node
    # here, added up in another order than micrograd's chain of additions)
    assert losses == pytest.approx(PUBLISHED_LOSSES, rel=1e-12)
    assert accuracy == PUBLISHED_ACCURACY


def test_the_first_weights_are_micrograds_after_random_seed() -> None:
    import random

    from tinygrad_lite.nn.scalar import MLP

    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    random.seed(1337)
    expected = [random.uniform(-1, 1) for _ in range(2 * 16 + 16 * 16 + 16)]  # micrograd's draws
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    assert weights == expected
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)
    assert repr(model.layers[0].neurons[0]) == "ReLUNeuron(2)"  # micrograd's repr
    assert repr(model.layers[-1].neurons[0]) == "LinearNeuron(16)"


def test_scalar_networks_take_numpy_scalars_as_numbers() -> None:
    import random

    from tinygrad_lite.nn.scalar import MLP

    random.seed(0)
    model = MLP(2, [3, 1])
    as_floats = model([0.5, -1.25]).data
    for kind in (np.float32, np.float64):  # a float32 dataset's rows, a float64 one's
        out = model([kind(0.5), kind(-1.25)])
        assert type(out.data) is float and out.data == as_floats
    assert model(np.array([0.5, -1.25], dtype=np.float32)).data == as_floats
    assert type(model([np.int64(1), 2]).data) is float


SCALAR_OPS = [
    "v * 2 + 1", "v.relu()", "v.tanh()", "v.exp()", "v.sigmoid()", "(v + 1).log()", "v**2",
    "v / 2", "2 - v", "-v", "abs(v)", "v.leaky_relu()", "v.gelu()", "v.clip(-1, 1)", "v.sum()",
    "v + w", "v * w", "tl.weighted_sum([v, w], [1.0, 2.0], v)",
]  # fmt: skip


@pytest.mark.parametrize("expr", SCALAR_OPS)
@pytest.mark.parametrize("number", [0, 3])
def test_an_int_assigned_to_data_is_a_float_to_every_op(expr: str, number: int) -> None:
    import tinygrad_lite as tl

    v, w = tl.Value(1.0, name="v"), tl.Value(2.0)
    v.data = number  # micrograd's bias is the int 0; its users assign ints too
    assert repr(v) == f"Value({float(number)!r}, name='v')"
    assert (v.item(), v.shape, v.ndim, v.dtype) == (float(number), (), 0, np.float64)
    names = {"tl": tl, "v": v, "w": w}
    out = eval(expr, names)
    assert type(out.data) is float
    out.backward()
    assert type(v.grad) is float
    (g,) = tl.grad(eval(expr, names), [v])
    assert g == v.grad
