#!/usr/bin/env python3
"""Time PyTorch's nn.LSTM / nn.GRU / nn.RNN at the shape rnn-bench uses, for comparison.

Usage: PYTHON torch_bench.py --shape B,S,I,H --iters N [--threads T] [--device cpu|cuda] [--json PATH]
LSTMP is nn.LSTM with proj_size = H // 2 (rnn-bench's `--cell LSTMP`).
Prints a Markdown table: forward (no_grad) and forward + backward (loss = output sum, with
the input's gradient), median of N runs, in ms, and one decoder step (the layer on a
length-1 sequence) in µs; with --json also writes them to PATH ({"version": ..., "LSTM":
{"fwd": ms, "train": ms, "step_us": µs, "ort_fwd": ms}, ...}) for rnn-bench's ratio columns. Run it with a current PyPI PyTorch (see ../shared/tools/setup_torch.sh);
Debian's python3-torch links the reference BLAS and is only good for parity fixtures.

On the CPU, when the onnx and onnxruntime packages are installed, each layer is also exported
to ONNX (its LSTM/GRU/RNN operator) and ONNX Runtime's CPU inference of it is timed with the
same threads, warm-up and runs (`ort_fwd`); LSTMP has no ONNX operator and is not. Without
those packages the script says so and times PyTorch alone.
"""
import argparse
import io
import json
import statistics
import time
import warnings

import torch

try:
    import onnx  # noqa: F401 (torch.onnx.export needs it)
    import onnxruntime
except ImportError:
    onnxruntime = None


def median_ms(f, iters, warmup=2):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def ort_forward(layer, x, threads):
    """A forward pass of `layer` on `x` in ONNX Runtime (CPU, `threads` intra-op threads), as a
    function to time; it checks first that the exported model computes what `layer` does."""
    model = io.BytesIO()
    # The TorchScript exporter maps nn.LSTM/GRU/RNN to ONNX's recurrent operators (its
    # deprecation and batch-size warnings do not concern a model run at the exported shape).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(layer, (x,), model, input_names=["x"], dynamo=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    with torch.no_grad():
        expected = layer(x)[0]
    got = torch.from_numpy(session.run(None, feed)[0])
    error = (got - expected).abs().max().item()
    assert error < 1e-4, f"ONNX Runtime's output differs from PyTorch's by {error}"
    return lambda: session.run(None, feed)[0].sum()


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
    use_ort = onnxruntime is not None and device.type == "cpu"
    if use_ort:
        results["onnxruntime"] = onnxruntime.__version__
        print(f"ONNX Runtime {onnxruntime.__version__} (CPU, {args.threads} intra-op threads)\n")
    elif device.type == "cpu":
        print("ONNX Runtime comparison skipped: pip install onnx onnxruntime into this Python.\n")
    print("| cell | PyTorch fwd (ms) | PyTorch fwd+bwd (ms) | ONNX Runtime fwd (ms) | step (µs) |")
    print("|---|---|---|---|---|")
    cells = [("LSTM", torch.nn.LSTM, {}), ("GRU", torch.nn.GRU, {}), ("Elman", torch.nn.RNN, {}),
             ("LSTMP", torch.nn.LSTM, {"proj_size": hidden // 2})]
    for name, cls, extra in cells:
        layer = cls(inp, hidden, batch_first=True, **extra).to(device)
        x = torch.randn(batch, seq, inp, device=device)

        def forward():
            with torch.no_grad():
                layer(x)[0].sum().item()

        xg = x.clone().requires_grad_(True)

        def train():
            # Fresh gradients each step, as Burn's `backward` makes (accumulating into the
            # previous step's `.grad` would add a pass over every weight's gradient).
            layer.zero_grad(set_to_none=True)
            xg.grad = None
            layer(xg)[0].sum().backward()
            xg.grad.sum().item()

        x1 = torch.randn(batch, 1, inp, device=device)

        def steps():
            # 64 decoder steps, as rnn-bench's single-step timing: the layer on a
            # length-1 sequence (cuDNN's kernel on a GPU).
            with torch.no_grad():
                total = layer(x1)[0]
                for _ in range(63):
                    total = total + layer(x1)[0]
                total.sum().item()

        fwd, both = median_ms(forward, args.iters), median_ms(train, args.iters)
        results[name] = {"fwd": fwd, "train": both, "step_us": median_ms(steps, args.iters) * 1e3 / 64}
        ort = "—"
        if use_ort and not extra:
            results[name]["ort_fwd"] = median_ms(ort_forward(layer, x, args.threads), args.iters)
            ort = f"{results[name]['ort_fwd']:.2f}"
        print(f"| {name} | {fwd:.2f} | {both:.2f} | {ort} | {results[name]['step_us']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
