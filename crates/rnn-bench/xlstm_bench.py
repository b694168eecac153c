#!/usr/bin/env python3
"""Time the xlstm package's sLSTM (its "vanilla" backend: PyTorch on the CPU) at the shape
rnn-bench uses, for comparison with our SlstmCell (`rnn-bench --cell sLSTM`).

Usage: PYTHON xlstm_bench.py --shape B,S,I,H --heads NH --iters N [--threads T]
PYTHON: a venv with a current PyTorch and xlstm 2.0.6 (crates/rnn-core/tests/fixtures/MODERN.md
says how to make one). The layer timed is what SlstmCell computes: one input projection
Linear(I, 4H) onto the gates, then the package's sLSTMCell (vanilla backend, `num_heads` NH)
over the sequence from a zero state. Prints forward (no_grad) and forward + backward (loss =
output sum, with the input's gradient), median of N runs, in ms.
"""
import argparse

import torch
from xlstm.blocks.slstm.cell import sLSTMCell, sLSTMCellConfig

from torch_bench import median_ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="16,128,128,128")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    batch, seq, inp, hidden = (int(v) for v in args.shape.split(","))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    project = torch.nn.Linear(inp, 4 * hidden)
    cell = sLSTMCell(sLSTMCellConfig(hidden_size=hidden, num_heads=args.heads,
                                     backend="vanilla", batch_size=batch,
                                     output_shape="BSH"))
    torch.nn.init.normal_(cell._recurrent_kernel_, std=0.1)
    x = torch.randn(batch, seq, inp)

    def forward():
        with torch.no_grad():
            cell(project(x))

    def train():
        xg = x.clone().requires_grad_(True)
        out, _ = cell(project(xg))
        out.sum().backward()

    fwd, trn = median_ms(forward, args.iters), median_ms(train, args.iters)
    print(f"| xlstm 2.0.6 vanilla sLSTM (torch {torch.__version__}, {args.threads} threads) "
          f"| {batch}x{seq}x{inp}->{hidden}, {args.heads} heads | {fwd:.2f} ms | {trn:.2f} ms |")


if __name__ == "__main__":
    main()
