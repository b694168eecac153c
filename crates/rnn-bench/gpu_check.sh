#!/bin/bash
# One run on a lent GPU machine (see the developers' guide: about 15 minutes of device time, so
# nothing is built there): PyTorch/cuDNN and our wgpu layers at the shapes, and the
# kernels' wgpu tests on the GPU. Results go to $OUT.
#
# Prepare here, with the binaries in an ignored folder that the device call carries:
#   mkdir -p gpu-run
#   cargo build --release -p rnn-bench && cargo test -p rnn-core --no-run
#   strip -o gpu-run/rnn-bench target/release/rnn-bench
#   strip -o gpu-run/all target/debug/deps/all-<hash>     # rnn-core's test binary
#   gzip -9 gpu-run/rnn-bench gpu-run/all
# then run `bash crates/rnn-bench/gpu_check.sh gpu-run` there (carry: gpu-run).
set -u
G=$(cd "$1" && pwd)
(cd "$G" && gzip -dkf rnn-bench.gz all.gz && chmod +x rnn-bench all)
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc
  python3 -c 'import torch; print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version())'
} > "$OUT/machine.txt" 2>&1
SHAPES="32,64,128,256 128,128,256,512 1,64,128,256"
for S in $SHAPES; do
  timeout 90 python3 crates/rnn-bench/torch_bench.py --device cuda --iters 20 --shape "$S" \
    --json "$OUT/torch-$S.json" > "$OUT/torch-$S.md" 2>&1
done
ours() {
  local S=$1; shift
  timeout 150 "$G/rnn-bench" --backend wgpu --iters 20 --shape "$S" "$@" \
    --torch "$OUT/torch-$S.json" > "$OUT/ours-$S.md" 2>&1
}
ours 32,64,128,256 --cell LSTM --cell GRU --cell Elman --cell LSTM-steps --cell GRU-steps --cell Elman-steps
(cd crates/rnn-core && RNN_TEST_BACKEND=wgpu timeout 100 "$G/all" fused:: parity:: padding:: \
  nonfinite:: gradcheck:: > "$OUT/tests.log" 2>&1; echo "rc=$?" >> "$OUT/tests.log")
ours 128,128,256,512 --cell LSTM --cell GRU --cell Elman --cell LSTM-steps --cell GRU-steps
ours 1,64,128,256 --cell LSTM --cell GRU --cell Elman --cell LSTM-steps
date -u >> "$OUT/machine.txt"
