"""A language model of Python, one character at a time: an LSTM on the standard library.

The model reads code character by character and, at every character, gives a probability to
each possible next character. Trained on the standard library's own source files (nothing is
downloaded), it is measured on whole files it never saw, in **bits per character**: the
cross-entropy of its predictions in nats divided by ln 2, the average number of yes/no
questions an ideal code built on the model would need per character. Two baselines put the
figure in scale: guessing uniformly among the V characters costs log2(V) bits, and a unigram
model (each character as often as it appears in the training text, no context at all) costs
about 4.6 bits on Python.

Model: embedding (V -> E) -> LSTM (E -> H, one or more layers) -> linear (H -> V), trained with
Adam on truncated backpropagation through time: B reading positions move through the training
text together, a window of T characters at a time; the state is carried from one window to the
next with ``.detach()``, so the model sees long contexts while each backward pass stays T steps
long. Then it writes Python of its own, one sampled character at a time, starting from "def ".

    python examples/sequences/char_lstm.py [--steps 2000] [--hidden 256] [--seed 0]

Prints held-out bits per character beside the baselines and a few samples; saves the training
curve (train and held-out bits per character) as char_lstm_bits.png in --out.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import Plotter
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optional import optional_import

LN2 = math.log(2.0)
State = tuple[tl.Value, tl.Value]  # the LSTM's (h, c), each (layers, B, H)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    add = parser.add_argument
    add("--files", type=int, default=None, help="standard-library files to read (default all)")
    add("--held-out", type=float, default=0.1, help="fraction of the files held out")
    add("--min-count", type=int, default=20, help="rarer characters become <unk>")
    add("--embed", type=int, default=32, help="E, the size of a character's vector")
    add("--hidden", type=int, default=256, help="H, the LSTM's hidden size")
    add("--layers", type=int, default=1, help="stacked LSTM layers")
    add("--seq-len", type=int, default=64, help="T, characters per backward pass")
    add("--batch", type=int, default=32, help="B, reading positions trained side by side")
    add("--steps", type=int, default=2000, help="optimizer steps")
    add("--lr", type=float, default=3e-3, help="Adam's learning rate (cosine-annealed to 1/10)")
    add("--clip", type=float, default=1.0, help="gradient norm clipping")
    add("--eval-every", type=int, default=100, help="steps between held-out measurements")
    add("--eval-chars", type=int, default=200_000, help="held-out characters in the final figure")
    add("--curve-chars", type=int, default=20_000, help="held-out characters per curve point")
    add("--samples", type=int, default=3, help="samples to print")
    add("--sample-chars", type=int, default=300, help="characters per sample")
    add("--temperature", type=float, default=0.8, help="sampling temperature (lower: safer)")
    add("--seed", type=int, default=0)
    add("--out", type=Path, default=Path("tour_out"), help="folder for the plot")
    add("--no-plots", action="store_true", help="print the numbers only")
    return parser.parse_args(argv)


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear: next-character logits at every position."""

    def __init__(self, vocab: int, embed: int, hidden: int, layers: int) -> None:
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: np.ndarray, state: State | None = None) -> tuple[tl.Value, State]:
        out, state = self.lstm(self.embed(ids), state)  # (B, T, H)
        return self.head(out), state  # (B, T, V) logits


def detach(state: State) -> State:
    """The same state as new leaves: the next window's backward pass stops here."""
    return state[0].detach(), state[1].detach()


def rows(ids: np.ndarray, n: int) -> np.ndarray:
    """The stream ``ids`` as ``n`` contiguous rows of equal length (the tail is dropped)."""
    length = len(ids) // n
    return ids[: n * length].reshape(n, length)  # (n, length)


def bits_per_char(model: CharLSTM, ids: np.ndarray, readers: int = 64, seq_len: int = 128) -> float:
    """Held-out bits per character: ``ids`` cut into ``readers`` contiguous rows, each read
    from its start with the state carried across windows, every character predicted once."""
    stream = rows(ids, readers)  # (readers, length)
    nats, count, state = 0.0, 0, None
    with tl.no_grad():
        for start in range(0, stream.shape[1] - 1, seq_len):
            x = stream[:, start : start + seq_len]
            y = stream[:, start + 1 : start + seq_len + 1]
            x = x[:, : y.shape[1]]  # the last window is shorter
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), "sum")
            nats, count = nats + float(loss.item()), count + y.size
    return nats / count / LN2


def unigram_bits(train_ids: np.ndarray, ids: np.ndarray, vocab: int) -> float:
    """Bits per character of ``ids`` under the training text's character frequencies (each
    count plus one, so no character has probability zero)."""
    counts = np.bincount(train_ids, minlength=vocab) + 1.0
    return float(-np.log2(counts[ids] / counts.sum()).mean())


def sample(
    model: CharLSTM,
    chars: data.CharTokenizer,
    prompt: str,
    length: int,
    temperature: float,
    gen: np.random.Generator,
) -> str:
    """``prompt`` and ``length`` more characters, each drawn from softmax(logits / temperature)
    (below 1 the likely characters get likelier: safer text, less variety)."""
    ids = chars.encode("\n" + prompt)[None]  # (1, 1 + len(prompt)): read as a line's start
    out = []
    with tl.no_grad():
        logits, state = model(ids)
        for _ in range(length):
            z = logits.data[0, -1].astype(np.float64) / temperature  # (V,)
            p = np.exp(z - z.max())
            nxt = int(gen.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(np.array([[nxt]]), state)
    return prompt + chars.decode(np.array(out))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)
    corpus = data.stdlib_corpus(max_files=args.files)
    train_files, held_files = corpus.split(held_out=args.held_out, seed=args.seed)
    train_text, held_text = train_files.text, held_files.text
    frequent = _frequent_chars(train_text, args.min_count)
    chars = data.CharTokenizer(frequent)  # rare characters (and unseen ones) become id 0
    train_ids, held_ids = chars.encode(train_text), chars.encode(held_text)
    print(
        f"standard library: {len(train_files)} training files ({len(train_ids):,} characters), "
        f"{len(held_files)} held-out files ({len(held_ids):,} characters); "
        f"{len(chars)} characters in the vocabulary"
    )
    eval_ids = _spread(held_ids, args.eval_chars, readers=64)
    curve_ids = _spread(held_ids, args.curve_chars, readers=16)

    tl.manual_seed(args.seed)
    model = CharLSTM(len(chars), args.embed, args.hidden, args.layers)
    params = model.parameters()
    print(f"{model}\n{sum(p.size for p in params):,} parameters")
    optimizer = optim.Adam(params, lr=args.lr)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=args.steps, eta_min=args.lr / 10)

    gen = np.random.default_rng(args.seed)
    B, T = args.batch, args.seq_len
    starts = gen.integers(0, len(train_ids) - T - 1, B)  # (B,) where each reader begins
    offsets = np.arange(T)
    state: State | None = None
    curve: dict[str, list[float]] = {"step": [], "train": [], "held_out": []}
    recent: list[float] = []
    start_time = time.perf_counter()
    for step in range(1, args.steps + 1):
        if starts.max() + T + 1 > len(train_ids):  # a reader reached the end: all start over
            starts, state = gen.integers(0, len(train_ids) - T - 1, B), None
        at = starts[:, None] + offsets  # (B, T)
        x, y = train_ids[at], train_ids[at + 1]
        starts = starts + T
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(B * T, -1), y.reshape(-1))
        state = detach(state)  # truncated BPTT: carry the state, not its graph
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(params, args.clip)
        optimizer.step()
        schedule.step()
        recent.append(float(loss.item()) / LN2)
        if step % args.eval_every == 0 or step == args.steps:
            held = bits_per_char(model, curve_ids, readers=16)
            curve["step"].append(step)
            curve["train"].append(float(np.mean(recent)))
            curve["held_out"].append(held)
            print(
                f"step {step:>5}: train {np.mean(recent):.3f} bits/char, held-out {held:.3f} "
                f"({time.perf_counter() - start_time:.0f} s)",
                flush=True,
            )
            recent = []
    seconds = time.perf_counter() - start_time

    uniform = math.log2(len(chars))
    unigram = unigram_bits(train_ids, eval_ids, len(chars))
    final = bits_per_char(model, eval_ids)
    print(f"\nheld-out bits per character, on {len(eval_ids):,} characters of unseen files:")
    print(f"  uniform over {len(chars)} characters   {uniform:.3f}")
    print(f"  unigram (character frequencies)  {unigram:.3f}")
    print(f"  LSTM                             {final:.3f}")
    chars_seen = args.steps * B * T
    print(f"trained on {chars_seen:,} characters in {seconds:.0f} s ({args.steps} steps)")

    print(f"\nsamples (temperature {args.temperature}):")
    for k in range(args.samples):
        text = sample(model, chars, "def ", args.sample_chars, args.temperature, gen)
        print(f"--- {k + 1}\n{text}")

    plot = Plotter(args.out, not args.no_plots)
    plot(bits_curve, "char_lstm_bits.png", curve, uniform, unigram, final)
    plot.report()
    return {"uniform": uniform, "unigram": unigram, "held_out": final, "curve": curve}


def _frequent_chars(text: str, min_count: int) -> str:
    """The characters that appear at least ``min_count`` times in ``text``."""
    codes, counts = np.unique(
        np.frombuffer(text.encode("utf-32-le"), np.uint32), return_counts=True
    )
    return "".join(chr(c) for c in codes[counts >= min_count])


def _spread(ids: np.ndarray, n: int, readers: int) -> np.ndarray:
    """About ``n`` ids of ``ids``: ``readers`` contiguous pieces spread evenly over the stream
    (all of it when ``n`` is 0 or larger than the stream), laid end to end."""
    if n <= 0 or n >= len(ids):
        return ids
    piece = n // readers
    begins = np.linspace(0, len(ids) - piece, readers).astype(int)
    return np.concatenate([ids[b : b + piece] for b in begins])


def bits_curve(
    curve: dict[str, list[float]], uniform: float, unigram: float, final: float, path: Path
) -> Path:
    """Train and held-out bits per character against the step, with the two baselines and
    the final figure (measured on more held-out text than each point of the curve)."""
    mpl_figure = optional_import("matplotlib.figure", "the char-LSTM plot", "matplotlib")
    fig = mpl_figure.Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(curve["step"], curve["train"], label="training text (mean since the last point)")
    ax.plot(curve["step"], curve["held_out"], label="held-out files")
    ax.plot(curve["step"][-1:], [final], "o", color="C1", label=f"held-out, final ({final:.2f})")
    ax.axhline(unigram, color="gray", linestyle="--", label=f"unigram baseline ({unigram:.2f})")
    title = f"A character LSTM on Python (uniform guessing: {uniform:.2f} bits)"
    ax.set(xlabel="step", ylabel="bits per character", title=title)
    ax.set_ylim(0, max(unigram, max(curve["train"] + curve["held_out"])) * 1.05)
    ax.legend(loc="upper right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
