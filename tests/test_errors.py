"""Bad input gets a clear error that names the problem, never a silent NaN."""

import pickle
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

import hopjax as hj


@pytest.fixture
def model():
    return hj.HAM((6, 5, 3), key=jax.random.PRNGKey(0))


@pytest.fixture
def x():
    return jax.random.uniform(jax.random.PRNGKey(1), (4, 6))


def test_wrong_input_width(model, x):
    with pytest.raises(ValueError, match="x has 7 features but the model's input layer has 6"):
        hj.solve(model, jnp.ones((4, 7)))


@pytest.mark.parametrize("shape", [(), (2, 3, 6)])
def test_wrong_input_rank(model, shape):
    with pytest.raises(ValueError, match=r"x must have shape \(6,\) for one sample or \(batch, 6\)") as error:
        hj.solve(model, jnp.ones(shape))
    # Extra batch axes are a common mistake with an easy way out; say it.
    assert ("reshape x to (-1, 6) or jax.vmap" in str(error.value)) == (len(shape) > 2)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_non_float_input(model, dtype):
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        hj.solve(model, jnp.ones((2, 6), dtype))


@pytest.mark.parametrize("bad", [jnp.nan, jnp.inf])
def test_nan_or_inf_in_input(model, x, bad):
    with pytest.raises(ValueError, match=r"^The input x contains NaN or Inf values\.$"):
        hj.solve(model, x.at[1, 2].set(bad))


def test_nan_in_input_under_jit(model, x):
    solve = eqx.filter_jit(hj.solve)
    with pytest.raises(Exception, match="The input x contains NaN or Inf"):
        jax.block_until_ready(solve(model, x.at[0, 0].set(jnp.nan)))


def test_nan_closed_over_by_a_jitted_function_is_named_when_traced(model, x):
    broken = eqx.tree_at(lambda m: m.weights[1], model, model.weights[1].at[0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match=r"The model contains NaN or Inf values \(in \.weights\[1\]\)"):
        jax.jit(lambda x: hj.solve(broken, x).output)(x)
    with pytest.raises(ValueError, match=r"^The input x contains NaN or Inf values\."):
        bad_x = x.at[0, 0].set(jnp.inf)
        jax.jit(lambda m: hj.solve(m, bad_x).output)(model)


def test_nan_in_parameters(model, x):
    broken = eqx.tree_at(lambda m: m.weights[1], model, model.weights[1].at[0, 0].set(jnp.nan))
    with pytest.raises(
        ValueError, match=r"The model contains NaN or Inf values \(in \.weights\[1\]\)\."
    ):
        hj.solve(broken, x)


@pytest.mark.parametrize("sizes", [(), (784,), [5]])
def test_fewer_than_two_layers(sizes):
    with pytest.raises(ValueError, match="at least two layers"):
        hj.HAM(sizes, key=jax.random.PRNGKey(0))


@pytest.mark.parametrize("sizes", [(784, 0, 10), (784, -3, 10), (784, 2.5, 10), (784, True, 10)])
def test_nonsense_layer_sizes(sizes):
    with pytest.raises(ValueError, match="positive integer"):
        hj.CHN(sizes, key=jax.random.PRNGKey(0))


@pytest.mark.parametrize(
    "skips,message",
    [
        (((0, 2),), "same parity"),
        (((1, 2),), "duplicates the connection between consecutive layers"),
        (((0, 9),), "outside 0..3"),
        (((0, 3), (3, 0)), "given twice"),
        (((0, 3.9),), "must be a pair of integer layer indices"),
        (((0, 1, 3),), "must be a pair of integer layer indices"),
    ],
)
def test_bad_skip_connections(skips, message):
    with pytest.raises(ValueError, match=message):
        hj.HAM((6, 5, 4, 3), key=jax.random.PRNGKey(0), skips=skips)


def test_non_float_model_dtype():
    with pytest.raises(TypeError, match="floating dtype"):
        hj.HAM((6, 5, 3), key=jax.random.PRNGKey(0), dtype=jnp.int32)


def test_keys_that_are_not_one_prng_key_are_named(model, x):
    # None / 0 / two keys failed inside jax.random.split ("unexpected PRNG key type",
    # "invalid PRNG key data ... Got 0"), naming no argument.
    one = re.escape("key must be one JAX PRNG key, e.g. jax.random.key(0), got")
    two = jax.random.split(jax.random.key(0), 2)
    for cls in (hj.HAM, hj.CHN):
        for key, given in ((None, "None"), (0, "0"), (two, r"an array of shape \(2,\)"),
                           (jnp.zeros(2), r"an array of shape \(2,\) and dtype float")):
            with pytest.raises(TypeError, match=f"{cls.__name__}: {one} {given}"):
                cls((6, 5, 3), key=key)
    with pytest.raises(TypeError, match=f"spectral_radius: {one} 5"):
        hj.spectral_radius(model, x, hj.solve(model, x).states, key=5)
    # typed, raw (NumPy too) and per-model keys under jax.vmap all still build a model
    raw = jax.random.PRNGKey(0)
    for key in (jax.random.key(0), raw, np.asarray(raw)):
        assert hj.HAM((6, 5, 3), key=key).layer_sizes == (6, 5, 3)
    ensemble = eqx.filter_vmap(lambda k: hj.HAM((6, 5, 3), key=k))(jax.random.split(raw, 3))
    assert ensemble.weights[0].shape == (3, 6, 5)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: hj.Picard(rtol=-1e-4), "non-negative rtol"),
        (lambda: hj.Picard(rtol=float("nan")), "non-negative rtol"),
        (lambda: hj.Picard(rtol=0.0), "rtol > 0 or atol > 0"),
        # rtol >= 1 was accepted: every sample "converged" without settling
        (lambda: hj.Picard(rtol=1.0), "Picard needs rtol below 1, got 1.0: a relative tolerance"),
        (lambda: hj.GMRESAdjoint(rtol=2), "GMRESAdjoint needs rtol below 1, got 2"),
        (lambda: hj.FixedPointAdjoint(rtol=1.5), "FixedPointAdjoint needs rtol below 1"),
        (lambda: hj.Picard(damping=1.0), r"damping in \[0, 1\)"),
        (lambda: hj.Anderson(damping=-0.1), r"damping in \[0, 1\)"),
        (lambda: hj.Anderson(history=0), "history >= 1"),
        (lambda: hj.Anderson(regularisation=-1.0), "non-negative regularisation"),
        (lambda: hj.Anderson(safeguard="no"), "Anderson's safeguard must be True or False, got 'no'"),
        (lambda: hj.RecurrentBackprop(steps=0), "steps must be a positive integer"),
        (lambda: hj.UnrolledRecurrentBackprop(steps=-1), "steps must be a positive integer"),
        (lambda: hj.FixedPointAdjoint(rtol=-1.0), "non-negative rtol"),
        (lambda: hj.GMRESAdjoint(restart=0), "restart must be a positive integer"),
        (lambda: hj.CHN((6, 5, 3), key=jax.random.PRNGKey(0), inner_steps=0), "inner_steps"),
        (lambda: hj.CHN((6, 5, 3), key=jax.random.PRNGKey(0), inner_damping=1.5), "inner_damping"),
        (lambda: hj.CHN((6, 5, 3), key=jax.random.PRNGKey(0), inner_damping="0.5"),
         r"inner_damping must lie in \[0, 1\), got '0.5'"),
        (lambda: hj.CHN((6, 5, 3), key=jax.random.PRNGKey(0), inner_steps=2.0),
         "inner_steps must be a positive integer, got 2.0"),
        (lambda: hj.HAM((6, 5, 3), key=jax.random.PRNGKey(0), activation=jax.nn.sigmoid),
         "^activation must be a hopjax.AbstractActivation .*, got "),
        (lambda: hj.damped_map(hj.synchronous_map, 0.0), "step_size"),
        (lambda: hj.ShiftedSigmoid(gain=float("inf")), "finite gain > 0"),
        (lambda: hj.ShiftedSigmoid(gain=0.0), "finite gain > 0"),
        (lambda: hj.ShiftedSigmoid(centre=float("nan")), "finite centre"),
        (lambda: hj.ShiftedSigmoid(gain="4"), "finite gain > 0, got '4'"),
        (lambda: hj.ShiftedSigmoid(gain=True), "finite gain > 0, got True"),
        (lambda: hj.ShiftedSigmoid(centre=None), "finite centre, got None"),
        (lambda: hj.Anderson(rtol=True), "non-negative rtol, got True"),
        (lambda: hj.Picard(atol="0"), "non-negative atol, got '0'"),
        (lambda: hj.initial_states(hj.HAM((6, 5, 3), key=jax.random.PRNGKey(0)), "evenodd", jnp.float32),
         "initial_states: update must be one of"),
    ],
)
def test_nonsense_hyperparameters(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


TRACED = "a value traced by jax.jit / jax.vmap / jax.grad, where a concrete Python number is needed"


@pytest.mark.parametrize("transform", [jax.jit, jax.vmap], ids=["jit", "vmap"])
@pytest.mark.parametrize("build,value", [
    (lambda m, x, v: hj.solve(m, x, rtol=v), 1e-3),
    (lambda m, x, v: hj.solve(m, x, damping=v), 0.3),
    (lambda m, x, v: hj.solve(m, x, max_steps=v), 30),
    (lambda m, x, v: hj.Anderson(rtol=v), 1e-3),
    (lambda m, x, v: hj.Anderson(history=v), 3),
    (lambda m, x, v: hj.Anderson(regularisation=v), 1e-6),
    (lambda m, x, v: hj.FixedPointAdjoint(rtol=v), 1e-6),
    (lambda m, x, v: hj.RecurrentBackprop(steps=v), 4),
    (lambda m, x, v: hj.damped_map(hj.synchronous_map, v), 0.5),
    (lambda m, x, v: hj.ShiftedSigmoid(gain=v), 2.0),
    (lambda m, x, v: hj.CHN((6, 5, 3), key=jax.random.PRNGKey(0), inner_damping=v), 0.3),
], ids=["solve-rtol", "solve-damping", "max_steps", "anderson-rtol", "history",
        "regularisation", "adjoint-rtol", "steps", "step_size", "gain", "inner_damping"])
def test_a_traced_hyperparameter_is_named_as_traced(model, x, transform, build, value):
    # They fix the compiled program, so they are Python numbers: a traced one was
    # refused as not "finite, non-negative" / not "in [0, 1)", which it may well be.
    with pytest.raises((ValueError, TypeError), match=re.escape(TRACED)):
        transform(lambda v: build(model, x, v))(jnp.asarray([value] * 2) if transform is jax.vmap else value)
    build(model, x, value)  # the same number, concrete, is accepted


@pytest.mark.parametrize("backward, fields", [
    (hj.FixedPointAdjoint(), ".rtol, .max_steps"),
    (hj.GMRESAdjoint(), ".rtol, .atol, .restart, .max_steps"),
    (hj.RecurrentBackprop(8), ".steps"),
])
def test_a_backward_mode_passed_through_jax_jit_is_named_as_traced(model, x, backward, fields):
    # jax.jit traces a Module argument's Python numbers: GMRESAdjoint failed deep inside
    # (TracerBoolConversionError), FixedPointAdjoint inside optimistix; refused at
    # construction when traced (above), so here too
    loss = lambda x, b: hj.solve(model, x, backward=b).output.sum()
    with pytest.raises(TypeError, match=re.escape(
            f"backward={type(backward).__name__}(...) has fields traced by jax.jit / jax.vmap / "
            f"jax.grad ({fields}), where concrete Python numbers are needed")):
        jax.jit(jax.grad(loss))(x, backward)
    gradient = eqx.filter_jit(jax.grad(loss))(x, backward)  # Python numbers kept static
    np.testing.assert_allclose(gradient, jax.grad(loss)(x, backward), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"rtol": -1.0}, "non-negative rtol"),
        ({"rtol": 2.0}, "solve needs rtol below 1, got 2.0"),
        ({"max_steps": 0}, "solve: max_steps must be a positive integer"),
        ({"early_stop": "no"}, "solve: early_stop must be True or False, got 'no'"),
        ({"trace": 1}, "solve: trace must be True or False, got 1"),
        ({"throw": "no"}, "solve: throw must be True or False"),
        ({"max_steps": 2.5}, "solve: max_steps must be a positive integer, got 2.5"),
        ({"damping": 1.0}, r"damping in \[0, 1\)"),
        ({"update": "gauss_seidel"}, "update must be one of"),
        ({"solver": "anderson"}, "solver must be a hopjax fixed-point solver"),
        ({"solver": optx.FixedPointIteration(1e-4, 0.0)}, "per-sample convergence"),
        ({"backward": "rbp"}, "backward must be a hopjax backward mode"),
        ({"solver": hj.Picard(damping=0.5)}, r"solve\(\.\.\., damping=0\.5\).*would stack on the map's"),
        ({"solver": hj.Anderson(atol=1e-6), "rtol": -1.0}, "non-negative rtol"),
    ],
)
def test_bad_solve_arguments(model, x, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        hj.solve(model, x, **kwargs)



@pytest.mark.parametrize("edit,error,message", [
    (lambda m: eqx.tree_at(lambda m: m.biases[0], m, jnp.zeros(6)), ValueError,
     r"biases\[0\] has shape \(6,\), not \(5,\) \(the widths its weights give the layers, \(6, 5, 3\)\)"),
    (lambda m: eqx.tree_at(lambda m: m.weights[1], m, jnp.zeros((4, 3))), ValueError,
     r"weights\[1\] has shape \(4, 3\), not 5 rows \(layer 1's width\)"),
    (lambda m: eqx.tree_at(lambda m: m.weights[1], m, jnp.zeros((5, 2))), ValueError,
     r"biases\[1\] has shape \(3,\), not \(2,\)"),
    (lambda m: eqx.tree_at(lambda m: m.biases[1], m, jnp.zeros((1, 3))), ValueError,
     r"biases\[1\] has shape \(1, 3\), not \(3,\)"),
    (lambda m: eqx.tree_at(lambda m: m.weights[0], m, jnp.zeros((6, 5), jnp.int32)), TypeError,
     r"weights\[0\] has dtype int32; its parameters must be floating point"),
    (lambda m: eqx.filter_vmap(lambda k: hj.HAM((6, 5, 3), key=k))(jax.random.split(jax.random.key(0), 2)),
     ValueError, r"weights\[0\] has shape \(2, 6, 5\), not a matrix: .* equinox.filter_vmap over it"),
    (lambda m: eqx.tree_at(lambda m: m.skip_weights[0],
                           hj.HAM((6, 5, 4, 3), key=jax.random.key(0), skips=((0, 3),)), jnp.zeros((6, 4))),
     ValueError, r"skip_weights\[0\] \(skip \(0, 3\)\) has shape \(6, 4\), not \(6, 3\)"),
    # an activation edited out of range: gain 0 or -1 solved silently (with gain 0 the
    # energy -inf), a NaN gain failed inside equinox ("Closure-converted function called
    # with different static arguments")
    *[(lambda m, gain=gain: eqx.tree_at(lambda m: m.activation.gain, m, gain), ValueError,
       rf"activation: ShiftedSigmoid needs a finite gain > 0, got {name}")
      for gain, name in ((0.0, "0.0"), (-1.0, "-1.0"), (float("nan"), "nan"), (float("inf"), "inf"))],
    (lambda m: eqx.tree_at(lambda m: m.activation.centre, m, float("nan")), ValueError,
     r"activation: ShiftedSigmoid needs a finite centre, got nan"),
    # a plain function for the activation: solved a HAM with it, unchecked
    (lambda m: eqx.tree_at(lambda m: m.activation, m, jax.nn.sigmoid), TypeError,
     r"activation must be a hopjax.AbstractActivation \(it supplies rho, rho' and the Lagrangian\), got"),
])
def test_a_model_edited_out_of_shape_is_named(model, x, edit, error, message):
    # eqx.tree_at skips the constructor's checks: a misfit failed deep in a map ("drive[1]
    # must have shape (6,)", "add got incompatible shapes"), an int weight was taken.
    edited = edit(model)
    for call in (lambda: hj.solve(edited, x), lambda: hj.energy(edited, x[0], hj.solve(model, x[0]).states)):
        with pytest.raises(error, match="(solve|energy): the model's " + message):
            call()

def test_not_a_model(x):
    with pytest.raises(TypeError, match="model must be a hopjax.HAM or hopjax.CHN"):
        hj.solve(object(), x)


def test_non_convergence_is_reported_and_throw_counts_failures(model, x):
    eq = hj.solve(model, x, solver=hj.Picard(), max_steps=1)
    assert not bool(jnp.any(eq.converged))
    with pytest.raises(hj.NonConvergenceError, match="4 of 4 samples did not converge") as error:
        hj.solve(model, x, solver=hj.Picard(), max_steps=1, throw=True)
    assert (error.value.failed, error.value.samples) == (4, 4)
    # the counts survive pickling (an error sent back from a worker process)
    unpickled = pickle.loads(pickle.dumps(error.value))
    assert (str(unpickled), unpickled.failed, unpickled.samples) == (str(error.value), 4, 4)
    solve = eqx.filter_jit(lambda m, x: hj.solve(m, x, solver=hj.Picard(), max_steps=1, throw=True))
    with pytest.raises(Exception, match="4 of 4 samples did not converge"):
        jax.block_until_ready(solve(model, x))
    ok = hj.solve(model, x, throw=True)  # converges: no error
    assert bool(jnp.all(ok.converged))


def test_energy_needs_one_state_per_layer(model):
    with pytest.raises(ValueError, match="one state per state layer"):
        hj.energy(model, jnp.ones(6), (jnp.ones(5),))


def test_energy_of_a_batch_says_to_vmap(model, x):
    states = hj.solve(model, x).states
    with pytest.raises(ValueError, match=r"shape \(6,\) for one sample \(jax.vmap it for a batch\)"):
        hj.energy(model, x, states)


def test_public_functions_name_arguments_of_the_wrong_kind(model, x):
    # Each failed with an AttributeError or a bare TypeError from deep inside.
    eq = hj.solve(model, x)
    one = (hj.input_drive(model, x[0]), tuple(s[0] for s in eq.states))
    cases = [
        (lambda: hj.energy(None, x[0], one[1]), "energy: model must be a hopjax.HAM or hopjax.CHN, got NoneType"),
        (lambda: hj.equation_residual("ham", x, eq.states), "equation_residual: model must be a hopjax.HAM"),
        (lambda: hj.spectral_radius(None, x, eq.states), "spectral_radius: model must be a hopjax.HAM"),
        (lambda: hj.input_drive(None, x[0]), "input_drive: model must be a hopjax.HAM"),
        (lambda: hj.initial_states(None, "even_odd", jnp.float32), "initial_states: model must be"),
        (lambda: hj.synchronous_map(None, *one), "synchronous_map: model must be a hopjax.HAM"),
        (lambda: hj.even_odd_map(model, None, one[1]), "even_odd_map: drive must be a sequence of arrays"),
        (lambda: hj.synchronous_map(model, one[0], None), "synchronous_map: states must be a sequence"),
        (lambda: hj.energy(model, x[0], None), "energy: states must be a sequence of arrays, one per"),
        (lambda: hj.solve(model, None), r"solve: x must be a floating-point array .*got NoneType"),
        (lambda: hj.solve(model, "abc"), r"solve: x must be a floating-point array .*got str"),
        (lambda: hj.input_drive(model, "abc"), r"input_drive: x must be a floating-point array"),
        (lambda: hj.damped_map(hj.synchronous_map, "0.5"), r"step_size must lie in \(0, 1\], got '0.5'"),
        (lambda: hj.damped_map("synchronous", 0.5), "damped_map needs a map"),
        (lambda: hj.modelled_layers(None), "num_state_layers must be a positive integer, got None"),
    ]
    for call, message in cases:
        with pytest.raises((TypeError, ValueError), match=message):
            call()


@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize("name", [
    "synchronous_map", "even_odd_map", "reconstruct_states", "local_equilibria", "layer_fields",
])
def test_maps_of_a_batch_say_to_vmap(kind, name, x):
    # Per-sample maps failed inside a matrix product ("dot_general requires contracting
    # dimensions to have the same shape"), or, for an even-odd CHN's reconstruct_states,
    # passed a batch through unchecked.
    model = {"ham": hj.HAM, "chn": hj.CHN}[kind]((6, 5, 4, 3), key=jax.random.PRNGKey(0))
    drive = jax.vmap(hj.input_drive, in_axes=(None, 0))(model, x)
    states = hj.solve(model, x, update="synchronous").states
    call = {
        "synchronous_map": lambda d, s: hj.synchronous_map(model, d, s),
        "even_odd_map": lambda d, s: hj.even_odd_map(model, d, s),
        "reconstruct_states": lambda d, s: hj.reconstruct_states(model, d, s),
        "local_equilibria": lambda d, s: hj.local_equilibria(model, d, s, (2,)),
        "layer_fields": lambda d, s: hj.layer_fields(model, d, s, (2,)),
    }[name]
    one = jax.tree.map(lambda a: a[0], (drive, states))
    call(*one)  # one sample is fine
    one_sample = rf"{name} works on one sample: "
    with pytest.raises(ValueError, match=one_sample + r"drive\[0\] must have shape \(5,\), got \(4, 5\)\. jax.vmap"):
        call(drive, states)
    with pytest.raises(ValueError, match=one_sample + r"states\[2\] must have shape \(3,\), got \(4, 3\)"):
        call(one[0], (*one[1][:2], states[2]))
    with pytest.raises(ValueError, match=rf"^{name}: states\[1\] must have shape \(4,\), got \(3,\)\.$"):
        call(one[0], (one[1][0], one[1][2], one[1][2]))  # one sample, a wrong width
    with pytest.raises(ValueError, match=rf"{name} needs states with one array per state layer \(3\), got 2"):
        call(one[0], one[1][:2])


def test_maps_name_bad_layer_indices_and_missing_states():
    # A layer index 0 or L + 1 failed with a broadcasting or IndexError, -1 silently
    # computed the field of the wrong layer, connected layers were moved at once, a None
    # neighbour failed on `@`, a batch went through input_drive, and int states were made.
    model = hj.HAM((6, 5, 4, 3, 2), key=jax.random.PRNGKey(0), skips=((0, 3), (1, 4)))
    x = jax.random.uniform(jax.random.PRNGKey(1), (6,))
    drive = hj.input_drive(model, x)
    states = tuple(jax.random.normal(jax.random.PRNGKey(j), (d,)) for j, d in enumerate((5, 4, 3, 2)))
    rho = tuple(model.activation(s) for s in states)
    numbered = r"layers holds {}, but the state layers are numbered 1 to 4 \(the input is layer 0\)"
    for layer in (0, 5, -1, 1.0, True):
        with pytest.raises(ValueError, match="layer_fields: " + numbered.format(layer)):
            hj.layer_fields(model, drive, rho, [layer])
        with pytest.raises(ValueError, match="local_equilibria: " + numbered.format(layer)):
            hj.local_equilibria(model, drive, states, [layer])
    with pytest.raises(TypeError, match="layer_fields: layers must be a sequence of state-layer indices"):
        hj.layer_fields(model, drive, rho, 2)
    for layers, pair in (([1, 2], "1 and 2"), ([1, 4], "1 and 4")):  # (1, 4) is a skip
        with pytest.raises(ValueError, match=f"local_equilibria: layers {pair} are connected"):
            hj.local_equilibria(model, drive, states, layers)
    assert len(hj.local_equilibria(model, drive, states, np.array([1, 3]))) == 4  # NumPy ints
    needs = "the field of layer 1 needs the state of layer 2"
    with pytest.raises(ValueError, match=f"layer_fields: {needs}, which is None"):
        hj.layer_fields(model, drive, (rho[0], None, rho[2], rho[3]), [1])
    with pytest.raises(ValueError, match=f"even_odd_map: {needs}"):
        hj.even_odd_map(model, drive, (states[0], None, states[2], None))  # the wrong parity
    with pytest.raises(ValueError, match="reconstruct_states: the field of layer 2 needs the state of layer 1"):
        hj.reconstruct_states(model, drive, (None, None, states[2], states[3]))
    with pytest.raises(ValueError, match="synchronous_map updates every layer from its state, but layer 4's"):
        hj.synchronous_map(model, drive, (*states[:3], None))
    chn = hj.CHN((6, 5, 4, 3), key=jax.random.PRNGKey(0))
    chn_drive, chn_states = hj.input_drive(chn, x), (states[0], None, states[2])
    for name, call in (
        ("even_odd_map", lambda: hj.even_odd_map(chn, chn_drive, chn_states)),
        ("reconstruct_states", lambda: hj.reconstruct_states(chn, chn_drive, chn_states)),
    ):
        warm_start = "a CHN starts each layer's local equilibrium from its current state"
        with pytest.raises(ValueError, match=f"{name}: {warm_start}, but layer 2's state is None"):
            call()
    with pytest.raises(ValueError, match=r"input_drive: x must have shape \(6,\) for one sample \(jax.vmap it"):
        hj.input_drive(model, jnp.stack([x, x]))
    for dtype in (jnp.int32, None, "foo"):
        with pytest.raises(TypeError, match="initial_states: dtype must be a floating dtype"):
            hj.initial_states(model, "even_odd", dtype)


@pytest.mark.parametrize("solver,backward,message", [
    (optx.FixedPointIteration(1e-4, 0.0), hj.FixedPointAdjoint(), "per-sample convergence"),
    (hj.Picard(), optx.ImplicitAdjoint(), "backward must be a hopjax backward mode"),
])
def test_implicit_fixed_point_refuses_foreign_solvers_and_adjoints_up_front(solver, backward, message):
    with pytest.raises(TypeError, match=message):
        hj.implicit_fixed_point(lambda y, p: 0.5 * y + p, solver, jnp.zeros(3), jnp.ones(3),
                                max_steps=10, backward=backward)


@pytest.mark.parametrize("change,error,message", [
    # before 2026-12-06: max_steps=0 returned y0 as the solution, a misspelt option was
    # ignored, a list of options failed on a missing `.get`, and an integer y0 was run
    (dict(max_steps=0), ValueError, "implicit_fixed_point: max_steps must be a positive integer, got 0"),
    (dict(max_steps=2.5), ValueError, "max_steps must be a positive integer, got 2.5"),
    (dict(options={"earlystop": False}), ValueError,
     r"unknown solver option 'earlystop'; the solvers read \['early_stop', 'trace_length'\]"),
    (dict(options={"trace_length": -1}), ValueError, "option 'trace_length' must be an integer >= 0, got -1"),
    (dict(options={"early_stop": "no"}), ValueError, "option 'early_stop' must be True or False, got 'no'"),
    (dict(options=[("early_stop", False)]), TypeError, "options must be a dict .* got list"),
    (dict(throw="no"), TypeError, "implicit_fixed_point: throw must be True or False, got 'no'"),
    (dict(y0=jnp.zeros(3, jnp.int32)), TypeError, "y0 must be floating-point arrays .* got int32"),
])
def test_implicit_fixed_point_names_bad_arguments(change, error, message):
    def call(y0=jnp.zeros(3), max_steps=10, options={"early_stop": True, "trace_length": 4},
             throw=False):
        return hj.implicit_fixed_point(
            lambda y, p: 0.5 * y + p, hj.Picard(), y0, jnp.ones(3), max_steps=max_steps,
            backward=hj.GMRESAdjoint(), options=options, throw=throw,
        )

    y_star, monitor = call()  # the unchanged call works
    assert jnp.allclose(y_star, 2.0, rtol=1e-3) and monitor.trace.shape == (4,)
    with pytest.raises(error, match=message):
        call(**change)



@pytest.mark.parametrize("diagnostic", [
    lambda m, x, s: hj.equation_residual(m, x, s),
    lambda m, x, s: hj.spectral_radius(m, x, s),
    lambda m, x, s: jax.vmap(lambda x, *s: hj.energy(m, x, s))(x, *s),
], ids=["equation_residual", "spectral_radius", "energy"])
def test_diagnostics_name_bad_states(model, x, diagnostic):
    states = (jnp.ones((4, 5)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"state 2 must have shape \((4, 3|3,)\)"):
        diagnostic(model, x, (states[0], jnp.ones((4, 2))))
    with pytest.raises(ValueError, match="x has 7 features"):
        diagnostic(model, jnp.ones((4, 7)), states)
    # a None state (an even-odd solve's left-out layer) was "must have shape ..., got ()"
    with pytest.raises(ValueError, match=r"needs every layer's state, but state 1 is None \(hopjax.reconstruct"):
        diagnostic(model, x, (None, states[1]))


def test_diagnostics_name_a_batch_mismatch(model, x):
    for diagnostic in (hj.equation_residual, hj.spectral_radius):
        with pytest.raises(ValueError, match=r"state 1 must have shape \(4, 5\) \(5 units, batched like x\)"):
            diagnostic(model, x, (jnp.ones((3, 5)), jnp.ones((3, 3))))
        with pytest.raises(ValueError, match=r"state 1 must have shape \(5,\)"):
            diagnostic(model, x[0], (jnp.ones((4, 5)), jnp.ones((4, 3))))  # unbatched x


def test_equation_residual_of_zero_states_is_not_nan(model):
    """At s = 0 the relative residual is inf (f(0) != 0), never NaN."""
    x = jnp.zeros(6)
    zero = (jnp.zeros(5), jnp.zeros(3))
    assert float(hj.equation_residual(model, x, zero)) == float("inf")
