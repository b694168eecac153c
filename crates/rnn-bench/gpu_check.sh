#!/bin/bash
# One run on a lent GPU machine (see the developers' guide: about 15 minutes of device time, so
# nothing is built there): PyTorch/cuDNN and our wgpu layers at the shapes, and the
# kernels' wgpu tests on the GPU. Results go to $OUT.
#
# Prepare here, with the binaries in an ignored folder that the device call carries:
#   mkdir -p gpu-run
#   cargo build --release -p rnn-bench
#   strip -o gpu-run/rnn-bench target/release/rnn-bench
#   # the same with burn's fusion and autotune, as an application with burn's defaults has:
#   cargo build --release -p rnn-bench --features fusion
#   strip -o gpu-run/rnn-bench-fusion target/release/rnn-bench
#   # rnn-core's integration tests, as cargo names them for this build (not an older core-<hash>):
#   T=$(cargo test -p rnn-core --no-run --message-format=json | jq -r \
#     'select(.profile.test == true and .target.name == "core") | .executable')
#   strip -o gpu-run/all "$T"
#   gzip -9 gpu-run/rnn-bench gpu-run/rnn-bench-fusion gpu-run/all
# then run `bash crates/rnn-bench/gpu_check.sh gpu-run` there (carry: gpu-run), with a
# timeout_s of 600: the timeouts below add up to 540 s.
set -u
G=$(cd "$1" && pwd)
# Each step's exit status goes to $OUT/status.txt, so that a step cut short by its timeout
# (124) or failing is told from one that finished.
step() { local name=$1; shift; "$@"; echo "$name rc=$?" >> "$OUT/status.txt"; }
if ! (cd "$G" && gzip -dkf rnn-bench.gz rnn-bench-fusion.gz all.gz \
        && chmod +x rnn-bench rnn-bench-fusion all) > "$OUT/unpack.log" 2>&1 \
  || ! "$G/all" --list > /dev/null 2>> "$OUT/unpack.log"; then
  echo "the carried binaries do not run here; see unpack.log" > "$OUT/status.txt"
  exit 1
fi
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc
  python3 -c 'import torch; print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version())'
  vulkaninfo --summary 2>/dev/null | grep -iE 'deviceName|driverName' || echo "no vulkaninfo"
} > "$OUT/machine.txt" 2>&1
# wgpu on the discrete GPU or not at all: without it, it would take whatever adapter there is
# (a software one times the CPU) and the figures would pass for the GPU's.
export CUBECL_WGPU_DEFAULT_DEVICE='DiscreteGpu(0)'

SHAPES="32,64,128,256 128,128,256,512 1,64,128,256"
for S in $SHAPES; do
  step "torch $S" timeout 45 python3 crates/rnn-bench/torch_bench.py --device cuda --iters 20 \
    --shape "$S" --json "$OUT/torch-$S.json" > "$OUT/torch-$S.md" 2>&1
done
ours() {
  # BINARY SHAPE SECONDS CELLS...
  local B=$1 S=$2 T=$3; shift 3
  # PyTorch's figures where its run wrote them; ours alone otherwise.
  local torch=()
  [ -s "$OUT/torch-$S.json" ] && torch=(--torch "$OUT/torch-$S.json")
  step "$B $S" timeout "$T" "$G/$B" --backend wgpu --iters 20 --shape "$S" "$@" \
    "${torch[@]}" > "$OUT/$B-$S.md" 2>&1
}
ALL="--cell LSTM --cell GRU --cell Elman --cell LSTM-steps --cell GRU-steps --cell Elman-steps"
ours rnn-bench 32,64,128,256 80 $ALL
ours rnn-bench-fusion 32,64,128,256 80 $ALL
# The tests read their fixtures under CARGO_MANIFEST_DIR (this machine's copy of the tree).
(cd crates/rnn-core && step tests env CARGO_MANIFEST_DIR="$PWD" RNN_TEST_BACKEND=wgpu \
  timeout 80 "$G/all" fused:: parity:: padding:: nonfinite:: gradcheck:: > "$OUT/tests.log" 2>&1)
ours rnn-bench 128,128,256,512 100 --cell LSTM --cell GRU --cell Elman --cell LSTM-steps --cell GRU-steps
ours rnn-bench 1,64,128,256 65 $ALL
date -u >> "$OUT/machine.txt"
