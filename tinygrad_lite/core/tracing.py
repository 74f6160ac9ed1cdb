"""Tracing a step: the graph a function builds, turned into a program that runs it again.

A training step builds the same graph every time it runs: the same ops, in the same order, on
arrays of the same shapes. ``trace`` runs the step once, as usual, and then reads what it did:

* the ops, from the graph itself: every node the step made is reachable from what the step
  used (the Values it called ``backward()`` on, returned, or handed to an effect);
* what leaves no node behind, from what ``listen.py`` was told: ``backward()`` calls, an
  optimizer's ``step()`` and ``zero_grad()``, other updates of data outside the graph
  (``effect``, such as batch norm's running statistics), the modules' training flags; and
  random numbers, from the leaves ``random_leaf`` made (dropout's mask).

The ``Program`` it returns runs the step again without making any Value: each op's forward
rule on the arrays of the previous ones, then the backward walk's rules in the order the walk
took them, the leaves' gradients given as ``backward()`` gives them, and the recorded calls at
their places. Its numbers are the eager step's: the same rules on the same data.

``tinygrad_lite.traced`` (``tl.jit``) decides when to trace and when to replay.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import listen
from .backward import sample
from .errors import TraceError
from .function import Call
from .graph import toposort
from .listen import Recorder
from .shapes import fit_grad, ndarray
from .value import Value, give_grad
from .value import leaf as constant_leaf

# the largest graph a replay is generated for: the program's Python compiles at about 10 µs a
# line, a few lines a node, so a million-node scalar chain would take a minute to compile
MAX_NODES = 200_000


def random_leaf(draw: Callable[[], Any]) -> Value:
    """A constant made of random numbers: ``draw()`` now, and ``draw()`` again each time a
    traced step is replayed, so a replay never repeats the numbers of the trace. Dropout's
    mask is one.

    >>> import numpy as np
    >>> gen = np.random.default_rng(0)
    >>> noise = random_leaf(lambda: gen.normal(size=3))
    >>> noise.shape, noise.requires_grad
    ((3,), False)
    """
    v = constant_leaf(draw())
    v._static = draw  # a leaf's static is otherwise None (Value.static hides it for leaves)
    return v


# ---------------------------------------------------------------- the program


@dataclass(eq=False)
class Program:
    """A traced step, ready to replay. ``run(inputs)`` takes the data of the step's inputs
    (in the order ``trace`` was given them) and returns the data of every output."""

    n_slots: int
    constants: list[tuple[int, Any]]  # (slot, data) set once
    params: list[tuple[int, Value]]  # (slot, leaf made before the step): read at every use
    inputs: list[tuple[int, int, Any]]  # (slot, input index, None or how to convert it)
    plan: list[tuple[Any, ...]]  # the forward ops, draws, backward passes and calls in order
    outputs: list[int]  # the slots of the returned Values
    buffers: set[int]  # the ids of the arrays it writes into (forward outputs, gradients)
    ops: list[str]  # the ops' names, in order (what ``signature`` compares)
    shapes: list[tuple[tuple[int, ...], str]]  # each op's output shape and dtype
    leaves: list[Any]  # each leaf's kind and identity, in order
    # (object, attribute, value) the graph depended on (``note_state``): valid while they hold
    guards: list[tuple[Any, str, Any]] = field(default_factory=list)
    source: str = ""  # the generated Python of ``run`` (see _generate), once it has run
    _run: Callable[..., list[Any]] | None = None

    def keep_fresh(self, earlier: Program) -> None:
        """Give afresh (instead of adding to) only the gradients of the leaves that both this
        trace and the ``earlier`` one of the same step found empty before backward: a leaf
        empty at the first call only is one whose gradients add up from call to call."""
        passes = [p for p in earlier.plan if p[0] == 3]
        for n, step in enumerate(p for p in self.plan if p[0] == 3):
            before = {slot: fresh for slot, _, _, fresh in passes[n][4]}
            step[4][:] = [
                (slot, leaf, k, fresh and before.get(slot, False))
                for slot, leaf, k, fresh in step[4]
            ]

    def holds(self) -> bool:
        """Whether the state the step's graph depended on is still what it was when traced."""
        return all(getattr(obj, attr) == value for obj, attr, value in self.guards)

    def run(self, inputs: Sequence[Any], values: Sequence[Any]) -> list[Any]:
        """One step: ``inputs`` are the step's input data, ``values`` the Values the caller
        passed (for their ``.grad``; None where an input was raw data)."""
        if self._run is None:
            self.source, namespace = _generate(self)
            exec(compile(self.source, "<tl.jit program>", "exec"), namespace)
            self._run = namespace["step"]
        return self._run(inputs, values)


# ---------------------------------------------------------------- the program as Python
# A replay runs as one generated Python function: one line per op, each slot's data a local
# variable, the backward walk unrolled. Straight-line code with locals is what CPython runs
# fastest; the same loop over the plan, interpreted, spent most of a small step on its own
# bookkeeping. ``Program.source`` keeps the text, for reading.


def _generate(program: Program) -> tuple[str, dict[str, Any]]:
    """The program's Python (the function ``step``) and its namespace."""
    ns: dict[str, Any] = {
        "ndarray": ndarray,
        "SEND": _send,
        "LIKE": _like,
        "GIVE": functools.partial(_give, buffers=program.buffers),
        "BUFFERS": program.buffers,
    }
    lines = ["def step(inputs, values):"]
    emit = lines.append
    for slot, data in program.constants:
        ns[f"C{slot}"] = data
        emit(f"    v{slot} = C{slot}")
    for slot, k, convert in program.inputs:
        if convert is None:
            emit(f"    v{slot} = inputs[{k}]")
        else:
            ns[f"X{slot}"] = convert
            emit(f"    v{slot} = X{slot}(inputs[{k}])")
    refresh = []
    for slot, leaf in program.params:
        ns[f"P{slot}"] = leaf
        refresh.append(f"    v{slot} = P{slot}.data")
    lines.extend(refresh)
    rebuilt: set[int] = set()  # slots whose static arguments are rebuilt around the inputs
    for n, entry in enumerate(program.plan):
        kind = entry[0]
        if kind in (0, 6):
            out, rule, static, ins = entry[1], entry[2], entry[3], entry[4]
            ns[f"F{out}"], ns[f"S{out}"] = rule, static
            args = ", ".join(f"v{i}" for i in ins)
            if kind == 6 and entry[6] is not None:  # the form is a ufunc: called itself
                ns[f"B{out}"], ns[f"U{out}"], side = entry[5], entry[6], entry[7]
                if side is not None:  # the number, on its side of the operator
                    args = f"S{out}, {args}" if side == 0 else f"{args}, S{out}"
                emit(f"    v{out} = U{out}({args}, out=B{out})")
            elif kind == 6:  # a replay form: into the step's own array
                ns[f"B{out}"] = entry[5]
                emit(f"    v{out} = F{out}(S{out}, B{out}, {args})")
            else:
                emit(f"    v{out} = F{out}(S{out}, {args})")
        elif kind == 1:  # static arguments made from the inputs (class labels, ids)
            out, rule, rebuild, ins, buf = entry[1:]
            ns[f"F{out}"], ns[f"R{out}"] = rule, rebuild
            rebuilt.add(out)
            args = ", ".join(f"v{i}" for i in ins)
            emit(f"    s{out} = R{out}(inputs)")
            if buf is None:
                emit(f"    v{out} = F{out}(s{out}, {args})")
            else:
                ns[f"B{out}"] = buf
                emit(f"    v{out} = F{out}(s{out}, B{out}, {args})")
        elif kind == 2:
            ns[f"D{entry[1]}"] = entry[2]
            emit(f"    v{entry[1]} = D{entry[1]}()")
        elif kind == 3:
            _generate_backward(n, entry, program, rebuilt, ns, emit)
        else:  # a call or an effect, then the parameters again (a call may rebind a float)
            ns[f"K{n}"] = entry[1]
            if kind == 4:
                emit(f"    K{n}()")
            else:
                parts = []
                for j, (i, a) in enumerate(entry[2]):
                    if i >= 0:
                        parts.append(f"v{i}")
                    else:
                        ns[f"A{n}_{j}"] = a
                        parts.append(f"A{n}_{j}")
                emit(f"    K{n}({', '.join(parts)})")
            lines.extend(refresh)
    # copies: the arrays of a replay are written again by the next one
    outs = ", ".join(f"_out(v{i})" for i in program.outputs)
    ns["_out"] = lambda x: x.copy() if type(x) is ndarray else x
    emit(f"    return [{outs}]")
    return "\n".join(lines) + "\n", ns


def _generate_backward(
    n: int,
    entry: tuple[Any, ...],
    program: Program,
    rebuilt: set[int],
    ns: dict[str, Any],
    emit: Callable[[str], None],
) -> None:
    """One ``backward()`` call, unrolled: the walk's rules in the walk's order, the gradients
    fitted and summed as the walk does, and the leaves' ``.grad`` given as ``backward()``
    gives it. What the trace saw each rule send (``_saw``) decides, gradient by gradient,
    whether it is sent on as it is, fitted, added up, or not sent at all."""
    _, root, seed, schedule, leaves, floats, given = entry
    ns[f"LEAVES{n}"] = leaves
    # a .grad still holding last replay's array (no zero_grad in between: gradients add up)
    # gets a copy of its own, which this pass's rules would otherwise overwrite
    ns["PROTECT"] = _protect
    emit(f"    PROTECT(LEAVES{n}, values, BUFFERS)")
    touched = {root} | {p for e in schedule for _, p in e[4]}
    senders = collections.Counter(p for e in schedule for _, p in e[4])
    ns["SUM"] = functools.partial(_send_summed, buffers=program.buffers)
    for slot in sorted(touched - {root}):
        emit(f"    g{slot} = None")
    ns[f"SEED{n}"] = seed
    if given is not None:  # an input of the step: copied into the data's dtype, as backward()
        k, convert = given  # does, into an array of the step's
        held = np.empty_like(seed)
        program.buffers.add(id(held))
        ns[f"SEED{n}"] = functools.partial(_seed_of, convert=convert, out=held)
        emit(f"    g{root} = SEED{n}(inputs[{k}])")
    else:
        emit(f"    g{root} = SEED{n}.copy()" if type(seed) is ndarray else f"    g{root} = SEED{n}")
    # the Values the trace saw a gradient reach: no None to test for
    arrived = {root} | {
        p for *_, targets, _, _, notes in schedule if notes for k, p in targets if notes[k]
    }
    # Python floats that several nodes send to, all seen by the trace: added up inline
    inline = {p for p in floats if senders[p] > 1}
    for *_, targets, _, _, notes in schedule:
        if notes is None:
            inline -= {p for _, p in targets}
    received: set[int] = set()
    for slot, backward, static, ins, targets, into, bufs, notes in schedule:
        if slot not in touched:
            continue
        ns[f"W{slot}"] = backward
        st = f"s{slot}" if slot in rebuilt else f"S{slot}"
        if slot not in rebuilt:
            ns[f"S{slot}"] = static
        args = ", ".join(f"v{i}" for i in ins)
        pad = "    "
        if slot not in arrived:
            emit(f"    if g{slot} is not None:")
            pad = "        "
        got = "sent"
        if notes and all(notes[k] in (None, "same") for k, _ in targets):
            got = ""  # the rule sends g itself on (add's): no call, g is passed on here
        elif notes and len(ins) == len(targets) == 1 and notes[0] == "ready":
            if senders[targets[0][1]] == 1:  # one input, its gradient ready: received as is
                got = f"(g{targets[0][1]},)"
        if not got:
            pass
        elif into is None:
            emit(f"{pad}{got} = W{slot}({st}, g{slot}, v{slot}, {args})")
        elif bufs is not None:  # arrays laid out as the trace's gradients were
            ns[f"I{slot}"], ns[f"Q{slot}"] = into, bufs
            emit(f"{pad}{got} = I{slot}({st}, g{slot}, v{slot}, Q{slot}, {args})")
        else:  # the trace saw no gradient here: the first replay makes the arrays
            ns[f"I{slot}"], ns[f"Q{slot}"] = into, [None]
            emit(f"{pad}if Q{slot}[0] is None:")
            emit(f"{pad}    sent = W{slot}({st}, g{slot}, v{slot}, {args})")
            emit(f"{pad}    Q{slot}[0] = LIKE(sent, ({args},), BUFFERS)")
            emit(f"{pad}else:")
            emit(f"{pad}    sent = I{slot}({st}, g{slot}, v{slot}, Q{slot}[0], {args})")
            got = "sent"
        for k, p in targets if got in ("", "sent") else ():  # a line a parent: dozens in a neuron
            note = notes[k] if notes else "unseen"
            if note is None:  # the rule sends nothing to this parent
                continue
            pg = f"g{slot}" if note == "same" else f"sent[{k}]"
            if p in inline and note in ("ready", "same"):  # floats: their sum, as the walk adds
                emit(f"{pad}g{p} {'+=' if p in received else '='} {pg}")
                received.add(p)
            elif senders[p] > 1 and p not in floats:  # arrays meet: summed into the step's
                ns.setdefault(f"T{n}_{p}", [None])
                emit(f"{pad}g{p} = SUM(g{p}, {pg}, v{p}, T{n}_{p})")
            elif note in ("ready", "same") and senders[p] == 1:  # its data's kind, shape, dtype
                emit(f"{pad}g{p} = {pg}")
            else:
                emit(f"{pad}g{p} = SEND(g{p}, {pg}, v{p})")
                received.add(p)
        emit(f"{pad}g{slot} = None")
    emit("    given = set()")
    for j, (slot, leaf, k, fresh) in enumerate(leaves):
        target = f"L{n}_{j}" if k < 0 else f"values[{k}]"
        if k < 0:
            ns[target] = leaf
        emit(f"    if g{slot} is not None and {target} is not None:")
        if fresh:
            emit(f"        {target}.grad = None")
        ns[f"H{n}_{j}"] = [None]
        emit(f"        GIVE({target}, g{slot}, given, H{n}_{j})")


def _send(held: Any, pg: Any, d: Any) -> Any:
    """What a parent holding ``held`` (its data ``d``) holds after receiving ``pg``: the walk's
    own steps (nothing for None; broadcast axes summed, the input's dtype and kind; added)."""
    if pg is None:
        return held
    pg = _fitted(pg, d)
    return pg if held is None else _add(held, pg)


def _fitted(pg: Any, d: Any) -> Any:
    """``pg`` with broadcast axes summed, in the dtype and kind of the data ``d``."""
    if type(pg) is not type(d) or (
        type(d) is ndarray and (pg.shape != d.shape or pg.dtype != d.dtype)
    ):
        return fit_grad(pg, d)
    return pg


def _send_summed(held: Any, pg: Any, d: Any, total: list[Any], buffers: set[int]) -> Any:
    """``_send`` for a parent that several nodes send gradients to: where two arrays meet,
    their sum goes into ``total[0]``, the step's own array (made by the first replay as the
    plain ``held + pg`` is, so it has the layout eager's sum has), not into a new one."""
    if pg is None or held is None:
        return _send(held, pg, d)
    pg = _fitted(pg, d)
    out = total[0]
    if out is None or type(held) is not ndarray or type(pg) is not ndarray or not held.ndim:
        summed = _add(held, pg)
        if out is None and type(summed) is ndarray and summed.ndim:
            total[0] = summed
            buffers.add(id(summed))
        return summed
    return np.add(held, pg, out=out)


def _give(v: Value, g: Any, given: set[int], copy: list[Any], buffers: set[int]) -> None:
    """``give_grad``, where the copy it makes of a gradient that is not the leaf's own (a view
    of another array, as a transposed weight's is, or an array another leaf got) goes into
    ``copy[0]``, an array of the step's, C-ordered as ``g.copy()`` is, not into a new one."""
    if type(g) is ndarray and (id(g) in given or g.base is not None or not g.flags.writeable):
        if copy[0] is None or copy[0].shape != g.shape or copy[0].dtype != g.dtype:
            copy[0] = np.empty(g.shape, g.dtype)
            buffers.add(id(copy[0]))
        np.copyto(copy[0], g)
        g = copy[0]
    give_grad(v, g, given)


def _protect(leaves: list[Any], values: Sequence[Any], buffers: set[int]) -> None:
    for _, leaf, k, fresh in leaves:
        target = leaf if k < 0 else values[k]
        # (a leaf the step empties gets its gradient afresh: nothing of the old one is read)
        if target is not None and not fresh and id(target.grad) in buffers:
            target.grad = target.grad.copy()


def _like(sent: Any, inputs: Sequence[Any], buffers: set[int]) -> tuple[Any, ...]:
    """Arrays to write a replay form's gradients into: one like each gradient the plain rule
    returned that has its input's shape and dtype (the same memory layout too, so that later
    rules reduce over it in the same order and give the same bits), None for the others."""
    bufs = _arrays_like(sent, inputs)
    buffers.update(id(b) for b in bufs if b is not None)
    return bufs


def _arrays_like(sent: Any, inputs: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        np.empty_like(pg)
        if type(pg) is ndarray
        and type(x) is ndarray
        and pg.shape == x.shape
        and pg.ndim
        and pg.dtype == x.dtype
        else None
        for pg, x in zip(sent, inputs)
    )


def _saw(rec: Recorder, node: Value, g: Any, sent: Any) -> None:
    """Note what ``node``'s rule sent in the trace's backward pass (``Recorder.saw``): for
    each parent None, "ready" (of the parent data's kind, shape and dtype: sent on as it is),
    "same" (ready, and ``g`` itself: the rule need not run) or "fit"; and, for a row with a
    backward replay form, arrays laid out like the gradients, to write them into (none for
    ``g`` itself, which ``add`` sends on). Rules send gradients of the same kind, shape and
    dtype on every call of one signature (and ``g`` itself or not by their code, not by the
    numbers), so what the trace saw holds for every replay."""
    notes = tuple(
        None
        if pg is None
        else "fit"
        if _fitted(pg, p.data) is not pg
        else "same"
        if pg is g
        else "ready"
        for pg, p in zip(sent, node._parents)
    )
    op: Any = node._op
    bufs = None
    if op.grads_into is not None and type(node.data) is ndarray:
        bufs = _arrays_like(
            [None if pg is g else pg for pg in sent], [p.data for p in node._parents]
        )
    event = next(e for e in reversed(rec.events) if e[0] == "backward")
    event[6][id(node)] = (notes, bufs)


def _add(a: Any, b: Any) -> Any:
    total = a + b
    return np.asarray(total) if isinstance(total, np.generic) else total


# ---------------------------------------------------------------- making the program


def trace(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    inputs: Sequence[Any],
    watch: Sequence[Value] = (),
) -> tuple[Any, Program | TraceError]:
    """Run ``fn(*args, **kwargs)`` once, eagerly, and read it into a Program. ``inputs`` are
    the arrays and Values among the arguments, in the order ``Program.run`` takes them.

    Returns what ``fn`` returned and the Program, or a TraceError that says why the step
    cannot be replayed (``fn`` has run all the same). Errors of ``fn`` itself propagate.
    ``watch``: leaves (an earlier trace's parameters) whose data the step must not write into
    before it uses them (``x.data[...] = batch``); a TraceError with ``written`` says it did.
    """
    if listen.listener is not None:
        raise TraceError("a traced step called another traced step; trace only the outer one")
    before = {id(v): (v.data, sample(v.data)) for v in watch if type(v.data) is ndarray}
    rec = listen.listener = Recorder(next(listen.creation))
    rec.saw = functools.partial(_saw, rec)
    try:
        result = fn(*args, **kwargs)
    finally:
        listen.listener = None
    if rec.refused is not None:
        return result, TraceError(rec.refused)
    try:
        return result, _compile(rec, result, inputs, before)
    except TraceError as e:
        return result, e


def _check_reads(rec: Recorder, nodes: list[Value], before: dict[int, Any]) -> None:
    """Raise a TraceError (``written``) if the step changed a watched leaf's data with no
    optimizer step or effect to account for it: a node read other data than the leaf held
    when the step was called (a node that reads data keeps a sample of its inputs,
    core/backward.py), or, in a step with no optimizer step or effect at all, the leaf holds
    other data at its end."""
    first_call = min((e[1] for e in rec.events if e[0] in ("call", "effect")), default=None)
    for node in sorted((v for v in nodes if v._parents), key=lambda v: v._seq):
        if first_call is not None and node._seq > first_call:
            return
        for leaf, now in zip(node._parents, getattr(node, "_seen", ())[1:]):
            if id(leaf) in before and _differs(before[id(leaf)][1], now):
                raise TraceError(_written(leaf, f"before {node.op} read it"), written=True)
    if first_call is not None:  # (the optimizer changes the parameters: nothing to compare)
        return
    for v in nodes:  # no optimizer step nor effect: a watched leaf must end as it began
        if id(v) in before and not v._parents:
            data, was = before[id(v)]
            if v.data is not data or _differs(was, sample(v.data)):
                raise TraceError(_written(v, "during the step"), written=True)


def _differs(was: Any, now: Any) -> bool:
    return not (now == was or (now != now and was != was))  # nan equals nan here


def _written(leaf: Value, when: str) -> str:
    what = leaf.name or f"a Value of shape {leaf.shape} that it holds"
    return (
        f"the step wrote into the data of {what} {when} (as x.data[...] = batch or x.data = "
        "batch do); a replay runs none of the step's lines, so it would compute with the data "
        "of an earlier call. Pass the data in as an argument of the step"
    )


def flatten_result(result: Any) -> tuple[list[Value], Callable[[list[Any]], Any]]:
    """The Values a step returned, and a function that builds the same structure from their
    replayed data (each a new Value that needs no gradient)."""
    found: list[Value] = []

    def take(x: Any) -> Callable[[list[Any]], Any]:
        if isinstance(x, Value):
            found.append(x)
            i = len(found) - 1
            return lambda data: constant_leaf(data[i])
        if x is None:
            return lambda data: None
        if isinstance(x, (tuple, list)):
            parts = [take(y) for y in x]
            kind = type(x)
            return lambda data: kind([p(data) for p in parts])
        if isinstance(x, dict):
            items = [(key, take(y)) for key, y in x.items()]
            return lambda data: {key: p(data) for key, p in items}
        raise TraceError(
            f"the step returned a {type(x).__name__}; a traced step returns Values (the loss), "
            "tuples, lists or dicts of them, or None. Return the Value and call .item() on "
            "what the traced function gives back"
        )

    build = take(result)
    return found, build


def _compile(rec: Recorder, result: Any, inputs: Sequence[Any], before: dict[int, Any]) -> Program:
    outs, _ = flatten_result(result)
    roots: list[Value] = list(outs)
    for event in rec.events:
        if event[0] == "backward":
            roots.append(event[2])
        elif event[0] == "effect":
            roots.extend(a for a in event[3] if isinstance(a, Value))
    nodes = toposort(roots)
    if len(nodes) > MAX_NODES:
        raise TraceError(
            f"the step's graph has {len(nodes):,} nodes, more than the {MAX_NODES:,} a replay "
            "program is generated for (its Python would take longer to compile than the "
            "steps it saves)"
        )
    if before:
        _check_reads(rec, nodes, before)
    slot_of = {id(v): i for i, v in enumerate(nodes)}

    # where the step's inputs are: a Value passed in, or an array a leaf holds (itself, or a
    # copy in another dtype), or an array inside an op's static arguments (class labels)
    value_inputs = {id(x): k for k, x in enumerate(inputs) if isinstance(x, Value)}
    array_inputs = [(k, x) for k, x in enumerate(inputs) if isinstance(x, ndarray)]

    def input_of(data: Any) -> tuple[int, Any] | None:
        """(input index, None or a function that converts a new input the same way) if
        ``data`` is one of the inputs: itself, a copy in another dtype (a layer made float32
        of it), or reshaped (``nn.Flatten`` of an array)."""
        if type(data) is not ndarray:
            return None
        for k, x in array_inputs:
            if data is x:
                return k, None
        for k, x in array_inputs:
            if data.shape == x.shape and data.dtype != x.dtype and np.array_equal(data, x):
                return k, functools.partial(_as_dtype, dtype=data.dtype)
            if (
                data.base is not None
                and data.dtype == x.dtype
                and data.size == x.size
                and np.shares_memory(data, x)
                and np.array_equal(data, x.reshape(data.shape))
            ):
                return k, functools.partial(_reshaped, shape=data.shape)
        return None

    constants: list[tuple[int, Any]] = []
    buffers: set[int] = set()  # ids of the arrays the program writes into
    params: list[tuple[int, Value]] = []
    input_slots: list[tuple[int, int, Any]] = []
    leaves_seen: list[Any] = []
    timeline: list[tuple[int, tuple[Any, ...]]] = []  # (creation number, plan entry)
    data_slot = {id(v.data): i for i, v in enumerate(nodes) if v._parents}
    ops: list[str] = []
    shapes: list[tuple[tuple[int, ...], str]] = []
    for i, v in enumerate(nodes):
        if v._parents:
            op = v._op
            if op is None or isinstance(v._static, Call):
                raise TraceError(
                    f"{v.op} has no replay form (a tl.Function's forward is user code that a "
                    "replay cannot see into); this step runs eagerly"
                )
            if v._seq < rec.start:
                raise TraceError(
                    f"the step uses the output of {v.op} computed before the step was called; "
                    "compute it inside the step, or pass its data (.detach()) as an input"
                )
            ins = tuple(slot_of[id(p)] for p in v._parents)
            rebuild = _static_inputs(v._static, input_of)
            buf = None
            if op.into is not None and type(v.data) is ndarray:
                buf = np.empty_like(v.data)  # a replay form writes the output into it
                buffers.add(id(buf))
            if rebuild is not None:
                rule = op.forward if buf is None else op.into
                entry: tuple[Any, ...] = (1, i, rule, rebuild, ins, buf)
            elif buf is not None:
                entry = (6, i, op.into, v._static, ins, buf, op.ufunc, op.constant)
            else:
                entry = (0, i, op.forward, v._static, ins)
            timeline.append((v._seq, entry))
            ops.append(op.name)
            shapes.append((v.shape, str(v.dtype)))
            continue
        if v._seq < rec.start:  # a parameter (or any leaf made before): read live
            if id(v) in value_inputs:
                k = value_inputs[id(v)]
                input_slots.append((i, k, None))
                leaves_seen.append(("input", k))
            else:
                params.append((i, v))
                leaves_seen.append(("param", id(v)))
            continue
        if callable(v._static):  # random_leaf
            timeline.append((v._seq, (2, i, v._static)))
            leaves_seen.append(("random", v.shape))
            continue
        found = input_of(v.data)
        if found is not None:
            input_slots.append((i, found[0], found[1]))
            leaves_seen.append(("input", found[0]))
            continue
        source = data_slot.get(id(v.data))
        if source is not None and source < i:  # v = w.detach(): the same data, no history
            timeline.append((v._seq, (0, i, _same, None, (source,))))
            leaves_seen.append(("detached", source))
            continue
        constants.append((i, v.data))
        leaves_seen.append(("constant", _fingerprint(v.data)))

    for event in rec.events:
        kind, seq = event[0], event[1]
        if kind == "backward":
            root, seed, zeroed, seen = event[2], event[3], event[4], event[6]
            entry = _backward_entry(root, seed, zeroed, seen, slot_of, value_inputs, buffers)
            given = event[7]  # the gradient passed to backward(), if an input: read anew
            if isinstance(given, Value) and id(given) in value_inputs:
                entry += ((value_inputs[id(given)], None),)
            elif type(given) is ndarray and input_of(given) is not None:
                entry += (input_of(given),)
            else:  # a number or an array made in the step: compared between two traces
                entry += (None,)
                leaves_seen.append(("constant", _fingerprint(seed)))
            timeline.append((seq, entry))
        elif kind == "call":
            timeline.append((seq, (4, event[2])))
        else:
            fn, args = event[2], event[3]
            spec = tuple((slot_of[id(a)], None) if isinstance(a, Value) else (-1, a) for a in args)
            timeline.append((seq, (5, fn, spec)))
    timeline.sort(key=lambda t: t[0])
    _check_updates(rec)
    return Program(
        n_slots=len(nodes),
        constants=constants,
        params=params,
        inputs=input_slots,
        plan=[entry for _, entry in timeline],
        outputs=[slot_of[id(v)] for v in outs],
        buffers=buffers,
        guards=[(obj, attr, getattr(obj, attr)) for obj, attr in rec.guards.values()],
        ops=ops,
        shapes=shapes,
        leaves=leaves_seen,
    )


def _same(static: Any, x: Any) -> Any:
    return x


def _as_dtype(x: Any, dtype: Any) -> Any:
    return x if x.dtype == dtype else x.astype(dtype)


def _reshaped(x: Any, shape: tuple[int, ...]) -> Any:
    return x.reshape(shape)


def _seed_of(x: Any, convert: Any, out: Any) -> Any:
    np.copyto(out, x if convert is None else convert(x), casting="unsafe")  # as np.array(x, dt)
    return out


def _fingerprint(data: Any) -> Any:
    """What a constant held: compared between two traces to find data-dependent constants."""
    if type(data) is ndarray:
        return ("array", data.shape, str(data.dtype), data.tobytes())
    return ("number", data)


def _static_inputs(static: Any, input_of: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
    """If ``static`` holds some of the step's input arrays (class labels, token ids), a
    function that builds it again around new inputs; else None."""
    found = input_of(static)
    if found is not None:
        k, convert = found
        return lambda inputs: inputs[k] if convert is None else convert(inputs[k])
    if not isinstance(static, tuple):
        return None
    parts = [_static_inputs(s, input_of) for s in static]
    if all(p is None for p in parts):
        return None
    fields = [(p, s) for p, s in zip(parts, static)]
    kind = type(static)
    make = kind._make if hasattr(kind, "_make") else kind  # a NamedTuple, or a tuple

    def rebuild(inputs: Any) -> Any:
        return make([s if p is None else p(inputs) for p, s in fields])

    return rebuild


def _backward_entry(
    root: Value,
    seed: Any,
    zeroed: set[int],
    seen: dict[int, Any],
    slot_of: dict[int, int],
    value_inputs: dict[int, int],
    buffers: set[int],
) -> tuple[Any, ...]:
    """The plan entry of one ``backward()``: the walk's order and, for each node, its rule,
    where its gradients go and what the trace saw it send (``_saw``); for each leaf that needs
    a gradient, who gets its ``.grad`` (the leaf itself, or the Value passed as that input on
    the replayed call); and the Values whose data are Python floats."""
    schedule = []
    leaves = []
    order = reversed(toposort([root]))
    floats = set()
    for v in order:
        i = slot_of[id(v)]
        if type(v.data) is float:
            floats.add(i)
        if not v._parents:
            if v.requires_grad:
                leaves.append((i, v, value_inputs.get(id(v), -1), id(v) in zeroed))
            continue
        if not v.requires_grad:  # computed from data only: no gradient reaches it
            continue
        op: Any = v._op
        targets = tuple((k, slot_of[id(p)]) for k, p in enumerate(v._parents) if p.requires_grad)
        ins = tuple(slot_of[id(p)] for p in v._parents)
        into = op.grads_into if type(v.data) is ndarray else None
        notes, bufs = seen.get(id(v), (None, None))
        buffers.update(id(b) for b in bufs or () if b is not None)
        schedule.append((i, op.backward, v._static, ins, targets, into, bufs, notes))
    return (3, slot_of[id(root)], seed, schedule, leaves, floats)


def _check_updates(rec: Recorder) -> None:
    """A leaf that got a gradient and whose data changed after that backward pass, with no
    recorded call after it (an optimizer's step, an effect) to account for the change: the
    step updated it by hand (``p.data -= lr * p.grad``), which a replay would not repeat."""
    for n, event in enumerate(rec.events):
        if event[0] != "backward":
            continue
        if any(e[0] in ("call", "effect") for e in rec.events[n + 1 :]):
            continue
        for v, data, was in event[5]:
            now = sample(v.data)
            if v.data is not data or not (now == was or (now != now and was != was)):
                what = v.name or f"a parameter of shape {v.shape}"
                raise TraceError(
                    f"the step changed {what} after backward() without an optimizer (an "
                    "update written by hand, such as p.data -= lr * p.grad, which a replay "
                    "cannot see); use an optimizer of tinygrad_lite.optim, or make the "
                    "update through tinygrad_lite.traced.effect"
                )
