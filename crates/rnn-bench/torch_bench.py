#!/usr/bin/env python3
"""Time PyTorch's nn.LSTM / nn.GRU / nn.RNN at the shape rnn-bench uses, for comparison.

Usage: PYTHON torch_bench.py --shape B,S,I,H --iters N [--threads T] [--device cpu|cuda] [--json PATH]
LSTMP is nn.LSTM with proj_size = H // 2 (rnn-bench's `--cell LSTMP`).
Prints a Markdown table: forward (no_grad) and forward + backward (loss = output sum, with
the input's gradient), median of N runs, in ms; with --json also writes them to PATH
({"version": ..., "LSTM": {"fwd": ms, "train": ms}, ...}) for rnn-bench's ratio columns. Run it with a current PyPI PyTorch (see
../shared/tools/setup_torch.sh); Debian's python3-torch links the reference BLAS and is only
good for parity fixtures.
"""
import argparse
import json
import statistics
import time

import torch


def median_ms(f, iters, warmup=2):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="32,64,128,256")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (cuDNN's kernels)")
    parser.add_argument("--json")
    args = parser.parse_args()
    batch, seq, inp, hidden = (int(v) for v in args.shape.split(","))
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{args.threads} threads"
    print(f"PyTorch {torch.__version__}, {where}; batch {batch}, seq {seq}, "
          f"input {inp}, hidden {hidden}; f32; median of {args.iters} runs\n")
    results = {"version": torch.__version__, "threads": args.threads, "device": args.device}
    print("| cell | PyTorch fwd (ms) | PyTorch fwd+bwd (ms) |")
    print("|---|---|---|")
    cells = [("LSTM", torch.nn.LSTM, {}), ("GRU", torch.nn.GRU, {}), ("Elman", torch.nn.RNN, {}),
             ("LSTMP", torch.nn.LSTM, {"proj_size": hidden // 2})]
    for name, cls, extra in cells:
        layer = cls(inp, hidden, batch_first=True, **extra).to(device)
        x = torch.randn(batch, seq, inp, device=device)

        def forward():
            with torch.no_grad():
                layer(x)[0].sum().item()

        def train():
            xg = x.clone().requires_grad_(True)
            layer(xg)[0].sum().backward()
            xg.grad.sum().item()

        fwd, both = median_ms(forward, args.iters), median_ms(train, args.iters)
        results[name] = {"fwd": fwd, "train": both}
        print(f"| {name} | {fwd:.2f} | {both:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
