"""Fused recurrent rows: a whole LSTM or GRU layer's time loop in one node.

Built from plain rows, an LSTM step is a dozen nodes (a product, four slices, three sigmoids,
two tanhs, the products and sums of the cell update), and a sequence of 50 steps is 600 nodes
whose bookkeeping costs more than their arithmetic. The row ``lstm`` runs the loop in NumPy
and its backward is backpropagation through time written out, one rule for the whole layer.

Inputs, with T steps, N sequences and H hidden units (torch's gate order i, f, g, o):

* ``xw`` (T, N, 4H): the input's share of every gate, ``x_t W_ih^T + b_ih + b_hh``, computed for
  all steps at once by one matrix product before the loop;
* ``h0``, ``c0`` (N, H): the initial hidden and cell states;
* ``w_hh`` (4H, H): the recurrent weight, torch's layout.

The output (2, T, N, H) holds each step's hidden state h_t in ``[0, t]`` and cell state c_t in
``[1, t]``: the layer's output ``[0]``, h_n ``[0, -1]`` and c_n ``[1, -1]`` are contiguous views
of it, and so is every state a step reads (the recurrent product's operand is a plain matrix,
and the weight's gradient reads all the steps' h_{t-1} in place, with no copy). Per step::

    a = xw_t + h_{t-1} W_hh^T                       # (N, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_t = f c_{t-1} + i g
    h_t = o tanh(c_t)

``lstm_composite`` is the same loop in plain rows; ``tests/test_fused.py`` holds them equal.

The row ``gru`` takes ``xw`` (T, N, 3H) (``x_t W_ih^T + b_ih``, gates r, z, n), ``h0`` (N, H),
``w_hh`` (3H, H) and ``b_hh`` (3H,) (apart: r gates ``W_hn h + b_hn``) and gives h_t (T, N, H)::

    r, z = sigmoid(xw_r + W_hr h + b_hr), sigmoid(xw_z + W_hz h + b_hz)
    n = tanh(xw_n + r (W_hn h + b_hn))
    h_t = (1 - z) n + z h_{t-1}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fused import Kept
from .modes import is_raw
from .row import Op, reused, scratch, temporary


def _scales(hid: int, dtype: Any) -> tuple[Any, Any]:
    """(half, shift) over the 4H gate columns: sigmoid(a) = tanh(a half) half + shift with
    half = shift = 1/2 for i, f, o, and tanh(a) = tanh(a 1) 1 + 0 for g."""
    half = np.full(4 * hid, 0.5, dtype=dtype)
    half[2 * hid : 3 * hid] = 1.0
    shift = half.copy()
    shift[2 * hid : 3 * hid] = 0.0
    return half, shift


def _zeros(buf: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """``buf`` (a replay form's gradient array) set to zero, or new zeros."""
    if buf is None:
        return np.zeros(shape, dtype)
    buf.fill(0)
    return buf


def _lstm(kept: Kept, xw: Any, h0: Any, c0: Any, w_hh: Any) -> Any:
    steps, n, four_h = xw.shape
    out = np.empty((2, steps, n, four_h // 4), dtype=xw.dtype)  # (2, T, N, H): h_t, c_t
    kept.keep(xw, _lstm_loop(xw, h0, c0, w_hh, out, None))
    return out


def _lstm_loop(xw: Any, h0: Any, c0: Any, w_hh: Any, out: Any, owner: Any) -> Any:
    """The forward loop, writing each step's h_t and c_t into ``out``; returns what the backward
    reads: the activated gates and tanh(c_t). Its arrays are new (``owner`` None, the plain
    rule) or the replay form's scratch arrays of ``owner``."""
    steps, n, four_h = xw.shape
    hid = four_h // 4
    # (T, N, 4H): i, f, g, o after their activations
    gates = temporary(owner, "lstm gates", xw.shape, xw.dtype)
    tanh_c = temporary(owner, "lstm tanh_c", (steps, n, hid), xw.dtype)  # (T, N, H): tanh(c_t)
    ig = temporary(owner, "lstm ig", (n, hid), xw.dtype)  # i g, one step
    half, shift = _scales(hid, xw.dtype)  # all four activations are one tanh between scalings
    w_t = w_hh.T  # (H, 4H)
    h, c = h0, c0
    for t in range(steps):
        a = gates[t]
        np.matmul(h, w_t, out=a)
        a += xw[t]  # (N, 4H)
        a *= half
        np.tanh(a, out=a)
        a *= half
        a += shift  # i, f, g, o
        i, f, g, o = a[:, :hid], a[:, hid : 2 * hid], a[:, 2 * hid : 3 * hid], a[:, 3 * hid :]
        c_new = out[1, t]
        np.multiply(f, c, out=c_new)
        c_new += np.multiply(i, g, out=ig)
        np.tanh(c_new, out=tanh_c[t])
        h_new = out[0, t]
        np.multiply(o, tanh_c[t], out=h_new)
        h, c = h_new, c_new
    return gates, tanh_c


def _lstm_backward(kept: Kept, g: Any, out: Any, xw: Any, h0: Any, c0: Any, w_hh: Any) -> Any:
    if not is_raw(g):
        return _lstm_backward_graph(g, out, xw, h0, c0, w_hh)
    saved = kept.take(xw)
    if saved is None:  # a second backward, or a forward re-run on other inputs: recompute
        again = Kept()
        _lstm(again, xw, h0, c0, w_hh)
        saved = again.take(xw)
    # the gradient of the pre-activations is written into the gate array, not needed any more
    return _lstm_bptt(g, out, xw, h0, c0, w_hh, saved, (saved[0], None, None, None), None)


def _lstm_bptt(
    g: Any, out: Any, xw: Any, h0: Any, c0: Any, w_hh: Any, saved: Any, bufs: Any, owner: Any
) -> Any:
    """Backpropagation through time from the forward's ``saved`` gates and tanh(c_t):
    d xw into ``bufs[0]``, and d h0, d c0, d w_hh into ``bufs[1:]`` where given (the replay
    form's) or new arrays; temporaries as in ``_lstm_loop``."""
    gates, tanh_c = saved
    d_a, dh_out, dc_out, dw_out = bufs
    steps, n, four_h = xw.shape
    hid = four_h // 4
    cs = out[1]  # (T, N, H)
    _, below = _scales(hid, xw.dtype)
    below = 1.0 - 2.0 * below  # the activations' derivatives are (1 - a)(a + below): 0 for i, f, o
    dh = _zeros(dh_out, (n, hid), xw.dtype)
    dc = _zeros(dc_out, (n, hid), xw.dtype)
    d = temporary(
        owner, "lstm d", (n, four_h), xw.dtype
    )  # gradient of the activated gates, one step
    tmp = temporary(owner, "lstm tmp", (n, hid), xw.dtype)
    local = temporary(owner, "lstm local", (n, four_h), xw.dtype)
    for t in range(steps - 1, -1, -1):
        dh += g[0, t]
        dc += g[1, t]
        a, tc = gates[t], tanh_c[t]
        i, f, gg, o = a[:, :hid], a[:, hid : 2 * hid], a[:, 2 * hid : 3 * hid], a[:, 3 * hid :]
        np.multiply(dh, tc, out=d[:, 3 * hid :])  # do
        np.multiply(tc, tc, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp  # through h_t = o tanh(c_t)
        np.multiply(dc, gg, out=d[:, :hid])  # di
        np.multiply(dc, cs[t - 1] if t else c0, out=d[:, hid : 2 * hid])  # df
        np.multiply(dc, i, out=d[:, 2 * hid : 3 * hid])  # dg
        dc *= f  # to c_{t-1}
        # through the activations: (N, 4H), the gradient of the step's pre-activations
        np.subtract(1.0, a, out=local)
        da = d_a[t]
        np.add(a, below, out=da)
        da *= local
        da *= d
        dh = np.matmul(da, w_hh, out=dh_out)  # to h_{t-1}: (N, 4H) @ (4H, H)
    return d_a, dh, dc, _summed_over_steps(d_a, out[0], h0, dw_out, owner)


def _summed_over_steps(d_a: Any, hs: Any, h0: Any, out: Any, owner: Any) -> Any:
    """The recurrent weight's gradient, sum over t of d_a[t]^T h_{t-1} (d_a (T, N, kH), each
    step's h_t in ``hs`` (T, N, H)): one product over steps 1.. on ``hs[:-1]`` as it lies, and
    step 0's with h0, into ``out`` where given (step 0's in a scratch array of ``owner``)."""
    k_h, hid = d_a.shape[2], hs.shape[2]
    dw = np.matmul(d_a[1:].reshape(-1, k_h).T, hs[:-1].reshape(-1, hid), out=out)
    first = reused(owner, "step 0 product", dw.shape, np.result_type(d_a, h0))
    dw += np.matmul(d_a[0].T, h0, out=first)
    return dw


def _lstm_backward_graph(g: Any, out: Any, xw: Any, h0: Any, c0: Any, w_hh: Any) -> Any:
    # the same equations on Values (graph mode, for higher-order gradients): the gates are
    # recomputed from the saved states, and each step's gate gradient is placed into (T, N, 4H)
    steps, n, four_h = xw.shape
    hid = four_h // 4
    dh, dc, dw, d_xw = None, None, None, None
    for t in range(steps - 1, -1, -1):
        h_prev = out[0, t - 1] if t else h0
        c_prev = out[1, t - 1] if t else c0
        a = xw[t] + h_prev @ w_hh.T
        i, f = a[:, :hid].sigmoid(), a[:, hid : 2 * hid].sigmoid()
        gg, o = a[:, 2 * hid : 3 * hid].tanh(), a[:, 3 * hid :].sigmoid()
        tc = out[1, t].tanh()
        dh = g[0, t] if dh is None else dh + g[0, t]
        dc = g[1, t] if dc is None else dc + g[1, t]
        dc = dc + dh * o * (1.0 - tc * tc)
        d_gates = [
            dc * gg * i * (1.0 - i),
            dc * c_prev * f * (1.0 - f),
            dc * i * (1.0 - gg * gg),
            dh * tc * o * (1.0 - o),
        ]
        # (N, 4H): the four blocks side by side, without a concat row in the core
        blocks = [
            part.scatter_to((n, four_h), (slice(None), slice(k * hid, (k + 1) * hid)))
            for k, part in enumerate(d_gates)
        ]
        da = blocks[0] + blocks[1] + blocks[2] + blocks[3]
        dc = dc * f
        dh = da @ w_hh
        step_w = da.T @ h_prev
        dw = step_w if dw is None else dw + step_w
        placed = da.scatter_to((steps, n, four_h), t)
        d_xw = placed if d_xw is None else d_xw + placed
    return d_xw, dh, dc, dw


def lstm_composite(kept: Any, xw: Any, h0: Any, c0: Any, w_hh: Any) -> Any:
    """The ``lstm`` row in plain rows: the time loop, one cell step after another."""
    steps, hid = xw.shape[0], xw.shape[2] // 4
    h, c, states = h0, c0, []
    w_t = w_hh.T
    for t in range(steps):
        a = xw[t] + h @ w_t  # (N, 4H)
        i, f = a[:, :hid].sigmoid(), a[:, hid : 2 * hid].sigmoid()
        g, o = a[:, 2 * hid : 3 * hid].tanh(), a[:, 3 * hid :].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        states += [h, c]
    # (2, T, N, H): each step's h and c placed at [0, t] and [1, t], with plain rows
    total = None
    for t in range(steps):
        h, c = states[2 * t], states[2 * t + 1]
        shape = (2, steps, *h.shape)
        placed = h.scatter_to(shape, (0, t)) + c.scatter_to(shape, (1, t))
        total = placed if total is None else total + placed
    return total


# ---------------------------------------------------------------- GRU


def _gru(kept: Kept, xw: Any, h0: Any, w_hh: Any, b_hh: Any) -> Any:
    steps, n, three_h = xw.shape
    out = np.empty((steps, n, three_h // 3), dtype=xw.dtype)  # (T, N, H): h_t
    kept.keep(xw, _gru_loop(xw, h0, w_hh, b_hh, out, None))
    return out


def _gru_loop(xw: Any, h0: Any, w_hh: Any, b_hh: Any, out: Any, owner: Any) -> Any:
    """The forward loop, writing each h_t into ``out``; returns what the backward reads: r and
    z, n, and W_hn h + b_hn. Its arrays as in ``_lstm_loop``."""
    steps, n, three_h = xw.shape
    hid = three_h // 3
    rz = temporary(owner, "gru rz", (steps, n, 2 * hid), xw.dtype)  # r, z after the sigmoid
    ns = temporary(owner, "gru n", (steps, n, hid), xw.dtype)  # the candidate n
    hns = temporary(owner, "gru hn", (steps, n, hid), xw.dtype)  # W_hn h + b_hn, which r gates
    hw_out = reused(owner, "gru hw", (n, three_h), xw.dtype)
    zh_out = reused(owner, "gru zh", (n, hid), xw.dtype)
    w_t = w_hh.T  # (H, 3H)
    h = h0
    for t in range(steps):
        hw = np.matmul(h, w_t, out=hw_out)  # (N, 3H)
        hw += b_hh
        a = rz[t]
        np.add(xw[t, :, : 2 * hid], hw[:, : 2 * hid], out=a)
        a *= 0.5  # sigmoid(a) = (tanh(a / 2) + 1) / 2
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5
        r, z = a[:, :hid], a[:, hid:]
        hns[t] = hw[:, 2 * hid :]
        cand = ns[t]
        np.multiply(r, hns[t], out=cand)
        cand += xw[t, :, 2 * hid :]
        np.tanh(cand, out=cand)
        h_new = out[t]
        np.subtract(1.0, z, out=h_new)
        h_new *= cand
        h_new += np.multiply(z, h, out=zh_out)  # (1 - z) n + z h
        h = h_new
    return rz, ns, hns


def _gru_backward(kept: Kept, g: Any, out: Any, xw: Any, h0: Any, w_hh: Any, b_hh: Any) -> Any:
    if not is_raw(g):
        return _gru_backward_graph(g, out, xw, h0, w_hh, b_hh)
    saved = kept.take(xw)
    if saved is None:  # a second backward, or a forward re-run on other inputs: recompute
        again = Kept()
        _gru(again, xw, h0, w_hh, b_hh)
        saved = again.take(xw)
    return _gru_bptt(g, out, xw, h0, w_hh, b_hh, saved, (None,) * 4, None)


def _gru_bptt(
    g: Any, out: Any, xw: Any, h0: Any, w_hh: Any, b_hh: Any, saved: Any, bufs: Any, owner: Any
) -> Any:
    """Backpropagation through time from the forward's ``saved`` arrays, the gradients into
    ``bufs`` where given, as in ``_lstm_bptt`` (b_hh's gradient is W_hh h's, summed: b_hh
    itself is not read)."""
    rz, ns, hns = saved
    steps, n, three_h = xw.shape
    hid = three_h // 3
    # (T, N, 3H): the gradient of the input's share of the gates ...
    d_xw = np.empty_like(xw) if bufs[0] is None else bufs[0]
    # ... and of the recurrent share W_hh h + b_hh
    d_hw = temporary(owner, "gru d_hw", xw.shape, xw.dtype)
    dh = _zeros(bufs[1], (n, hid), xw.dtype)
    tmp = temporary(owner, "gru tmp", (n, hid), xw.dtype)
    step_out = reused(owner, "gru dh step", (n, hid), xw.dtype)
    for t in range(steps - 1, -1, -1):
        dh += g[t]
        r, z, cand, hn = rz[t, :, :hid], rz[t, :, hid:], ns[t], hns[t]
        h_prev = out[t - 1] if t else h0
        dx, dr_ = d_xw[t], d_hw[t]
        # n's pre-activation: dh (1 - z) (1 - n^2)
        dan = dx[:, 2 * hid :]
        np.multiply(cand, cand, out=dan)
        np.subtract(1.0, dan, out=dan)
        np.subtract(1.0, z, out=tmp)
        tmp *= dh
        dan *= tmp
        np.multiply(dan, r, out=dr_[:, 2 * hid :])  # to W_hn h + b_hn
        # z's pre-activation: dh (h_prev - n) z (1 - z)
        daz = dx[:, hid : 2 * hid]
        np.subtract(h_prev, cand, out=daz)
        daz *= dh
        np.subtract(1.0, z, out=tmp)
        tmp *= z
        daz *= tmp
        # r's pre-activation: dan hn r (1 - r)
        dar = dx[:, :hid]
        np.multiply(dan, hn, out=dar)
        np.subtract(1.0, r, out=tmp)
        tmp *= r
        dar *= tmp
        dr_[:, : 2 * hid] = dx[:, : 2 * hid]
        dh *= z  # to h_{t-1}, directly ...
        dh += np.matmul(dr_, w_hh, out=step_out)  # ... and through W_hh h_{t-1}: (N, 3H) @ (3H, H)
    dw = _summed_over_steps(d_hw, out, h0, bufs[2], owner)  # (3H, H)
    return d_xw, dh, dw, d_hw.reshape(-1, three_h).sum(axis=0, out=bufs[3])


def _gru_backward_graph(g: Any, out: Any, xw: Any, h0: Any, w_hh: Any, b_hh: Any) -> Any:
    # the same equations on Values (graph mode, for higher-order gradients), as for the LSTM
    steps, n, three_h = xw.shape
    hid = three_h // 3
    dh, dw, db, d_xw = None, None, None, None
    for t in range(steps - 1, -1, -1):
        h_prev = out[t - 1] if t else h0
        hw = h_prev @ w_hh.T + b_hh  # (N, 3H)
        r = (xw[t, :, :hid] + hw[:, :hid]).sigmoid()
        z = (xw[t, :, hid : 2 * hid] + hw[:, hid : 2 * hid]).sigmoid()
        hn = hw[:, 2 * hid :]
        cand = (xw[t, :, 2 * hid :] + r * hn).tanh()
        dh = g[t] if dh is None else dh + g[t]
        dan = dh * (1.0 - z) * (1.0 - cand * cand)
        dar = dan * hn * r * (1.0 - r)
        daz = dh * (h_prev - cand) * z * (1.0 - z)
        cols = lambda k: (slice(None), slice(k * hid, (k + 1) * hid))  # noqa: E731
        shape = (n, three_h)
        dx = dar.scatter_to(shape, cols(0)) + daz.scatter_to(shape, cols(1))
        dhw = dx + (dan * r).scatter_to(shape, cols(2))
        dx = dx + dan.scatter_to(shape, cols(2))
        dh = dh * z + dhw @ w_hh
        step_w, step_b = dhw.T @ h_prev, dhw.sum(axis=0)
        dw = step_w if dw is None else dw + step_w
        db = step_b if db is None else db + step_b
        placed = dx.scatter_to((steps, n, three_h), t)
        d_xw = placed if d_xw is None else d_xw + placed
    return d_xw, dh, dw, db


def gru_composite(kept: Any, xw: Any, h0: Any, w_hh: Any, b_hh: Any) -> Any:
    """The ``gru`` row in plain rows: the time loop, one cell step after another."""
    steps, hid = xw.shape[0], xw.shape[2] // 3
    h, total = h0, None
    w_t = w_hh.T
    for t in range(steps):
        hw = h @ w_t + b_hh  # (N, 3H)
        r = (xw[t, :, :hid] + hw[:, :hid]).sigmoid()
        z = (xw[t, :, hid : 2 * hid] + hw[:, hid : 2 * hid]).sigmoid()
        cand = (xw[t, :, 2 * hid :] + r * hw[:, 2 * hid :]).tanh()
        h = (1.0 - z) * cand + z * h
        placed = h.scatter_to((steps, *h.shape), t)  # stacked along time with plain rows
        total = placed if total is None else total + placed
    return total


# ---------------------------------------------------------------- replay forms (tl.jit)
# The forms run the same loops with their arrays taken from row.scratch, owned by the node's
# output. The forward keeps its gates under that output, not under xw: a plain backward (the
# first replay's) then recomputes them rather than hand a scratch array on as xw's gradient.
# Where the scratch arrays would be laid out or typed unlike the plain rules' arrays, the forms
# run the plain rules (new arrays, kept under xw) and copy their gradients into the buffers.


def _owner(out: Any, xw: Any, *others: Any) -> Any:
    """``out``, whose scratch arrays the forms use, if they are laid out and typed as the
    plain rules' arrays (xw C-contiguous, every input of xw's dtype); else None."""
    same = all(x.dtype == xw.dtype for x in others)
    return out if same and xw.flags.c_contiguous else None


def _copied(grads: Any, bufs: Any) -> tuple[Any, ...]:
    """The plain rule's gradients, written into the form's arrays where given."""
    for r, b in zip(grads, bufs):
        if b is not None:
            np.copyto(b, r)
    return tuple(r if b is None else b for r, b in zip(grads, bufs))


def _replay_forms(loop: Any, backward: Any, bptt: Any) -> tuple[Any, Any]:
    """A row's ``into`` and ``grads_into`` from its forward ``loop``, plain ``backward`` rule
    and backpropagation ``bptt``."""

    def into(kept: Kept, out: Any, xw: Any, *rest: Any) -> Any:
        owner = _owner(out, xw, *rest)
        kept.keep(xw if owner is None else out, loop(xw, *rest, out, owner))
        return out

    def grads_into(kept: Kept, g: Any, out: Any, bufs: Any, *inputs: Any) -> Any:
        owner = _owner(out, *inputs)
        if owner is None or any(b is None for b in bufs):
            return _copied(backward(kept, g, out, *inputs), bufs)
        saved = kept.take(out)
        if saved is None:  # as the plain rule: recompute, into the forward form's arrays
            saved = loop(*inputs, scratch(out, "again", out.shape, out.dtype), owner)
        return bptt(g, out, *inputs, saved, bufs, owner)

    return into, grads_into


_lstm_into, _lstm_grads_into = _replay_forms(_lstm_loop, _lstm_backward, _lstm_bptt)
_gru_into, _gru_grads_into = _replay_forms(_gru_loop, _gru_backward, _gru_bptt)


ROWS = [
    Op(
        "lstm",
        _lstm,
        _lstm_backward,
        "x LSTM backprop through time",
        composite=lstm_composite,
        into=_lstm_into,
        grads_into=_lstm_grads_into,
    ),
    Op(
        "gru",
        _gru,
        _gru_backward,
        "x GRU backprop through time",
        composite=gru_composite,
        into=_gru_into,
        grads_into=_gru_grads_into,
    ),
]
