//! xLSTM block stacks against the `xlstm` package's `xLSTMBlockStack` (fixtures made by
//! `tests/fixtures/xlstm_blocks.py`): a stack built with the same configuration loads the
//! package's checkpoint (in the layouts of both its sLSTM backends) and computes its output
//! and the gradients of the input and of every parameter; bad checkpoints are errors naming
//! the key.

use burn::tensor::{Tensor, TensorData};
use rnn_core::pytorch::StateDict;
use rnn_core::xlstm::{StackParam, XlstmBlock, XlstmBlockState, XlstmStack, XlstmStackConfig};
use rstest::rstest;
use serde_json::Value;

use crate::backend::{autodiff_device, device};
use crate::util::{assert_close, fixture, fixture_path, tensor, values};

fn path(file: &str) -> String {
    fixture_path(&format!("xlstm_blocks/{file}"))
}

/// The configuration the fixture's stack was built with, running the mLSTM memory in chunks
/// of `chunk_size` steps.
fn config(case: &Value, chunk_size: usize) -> XlstmStackConfig {
    let c = &case["config"];
    let derived = &case["derived"];
    let size = |v: &Value| v.as_u64().expect("a size") as usize;
    let blocks = size(&c["num_blocks"]);
    let slstm_at = match &derived["slstm_at"] {
        Value::String(all) if all == "all" => (0..blocks).collect(),
        list => list
            .as_array()
            .expect("slstm_at")
            .iter()
            .map(size)
            .collect(),
    };
    let mut config = XlstmStackConfig::new(size(&c["embedding_dim"]), blocks)
        .with_slstm_at(slstm_at)
        .with_chunk_size(chunk_size)
        .with_post_blocks_norm(c["add_post_blocks_norm"].as_bool().expect("norm"));
    if let Some(m) = derived.get("mlstm") {
        let factor = c["mlstm_block"]["mlstm"]["proj_factor"]
            .as_f64()
            .expect("factor");
        config = config
            .with_mlstm_heads(size(&m["num_heads"]))
            .with_qkv_block_size(size(&m["qkv_proj_blocksize"]))
            .with_conv_kernel(size(&m["conv1d_kernel_size"]))
            .with_mlstm_proj_factor(factor);
    }
    if let Some(s) = derived.get("slstm") {
        let factor = c["slstm_block"]["feedforward"]["proj_factor"]
            .as_f64()
            .expect("factor");
        config = config
            .with_slstm_heads(size(&s["num_heads"]))
            .with_conv_kernel(size(&s["conv1d_kernel_size"]))
            .with_ffn_proj_factor(factor);
    }
    config
}

fn loaded(
    case: &Value,
    file: &str,
    chunk_size: usize,
    device: &burn::tensor::Device,
) -> XlstmStack {
    let dict = StateDict::read_safetensors(path(file)).expect("the checkpoint reads");
    config(case, chunk_size)
        .init(device)
        .load_state_dict(&dict, "", true)
        .expect("the checkpoint loads")
}

/// Within `tol`, relative to values above 1.
fn assert_matches(what: &str, actual: &[f32], expected: &Value, tol: f32) {
    let expected: Vec<f32> = expected["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect();
    assert_eq!(actual.len(), expected.len(), "{what}: sizes differ");
    for (k, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * e.abs().max(1.0),
            "{what}[{k}]: got {a}, expected {e}"
        );
    }
}

/// The package's parallel mLSTM form and our chunkwise one differ by `O(ε e^m)` (see
/// `modern_parity.rs`), and f32 against f64 through several blocks: `2e-4`, relative.
#[rstest]
fn a_stack_loads_the_package_checkpoint_and_computes_its_outputs_and_gradients(
    #[values("mlstm_e16_b1", "slstm_e8_b1", "slstm_e8_b2", "mixed_e8_b3")] case_name: &str,
    #[values(2, 64)] chunk_size: usize,
) {
    let case = fixture(&format!("xlstm_blocks/{case_name}.json"));
    let device = autodiff_device();
    let mut stack = loaded(
        &case,
        &format!("{case_name}.safetensors"),
        chunk_size,
        &device,
    );
    let x: Tensor<3> = tensor::<3>(&case["input"], &device).require_grad();
    let output = stack.forward(x.clone());
    let tol = 2e-4;
    assert_matches(
        &format!("{case_name}: output"),
        &values(&output),
        &case["output"],
        tol,
    );
    let grads = (output * tensor::<3>(&case["w_out"], &device))
        .sum()
        .backward();
    let d_input = values(&x.grad(&grads).expect("d input"));
    assert_matches(
        &format!("{case_name}: d input"),
        &d_input,
        &case["grads"]["input"],
        tol,
    );
    for (name, param) in stack.pytorch_parameters() {
        let grad = match param {
            StackParam::Vector(p) => values(&p.grad(&grads).expect("a gradient")),
            StackParam::Matrix(p) => values(&p.grad(&grads).expect("a gradient")),
            StackParam::Cube(p) => values(&p.grad(&grads).expect("a gradient")),
        };
        let expected = &case["grads"][format!("params.{name}")];
        assert_matches(&format!("{case_name}: d {name}"), &grad, expected, tol);
    }
}

/// GPU-trained checkpoints hold the sLSTM kernel and bias in the package's cuda layout.
#[rstest]
fn the_cuda_layout_loads_as_the_vanilla_one(
    #[values("slstm_e8_b1", "slstm_e8_b2", "mixed_e8_b3")] case_name: &str,
) {
    let case = fixture(&format!("xlstm_blocks/{case_name}.json"));
    let device = device();
    let vanilla = loaded(&case, &format!("{case_name}.safetensors"), 64, &device);
    let cuda = loaded(
        &case,
        &format!("{case_name}.cuda_layout.safetensors"),
        64,
        &device,
    );
    let x: Tensor<3> = tensor(&case["input"], &device);
    assert_close("output", &cuda.forward(x.clone()), &vanilla.forward(x), 0.0);
}

#[test]
fn bad_checkpoints_and_inputs_are_errors() {
    let case = fixture("xlstm_blocks/mixed_e8_b3.json");
    let device = device();
    let dict = StateDict::read_safetensors(path("mixed_e8_b3.safetensors")).unwrap();
    let stack = || config(&case, 64).init(&device);
    let error = |dict: &StateDict| {
        stack()
            .load_state_dict(dict, "", true)
            .unwrap_err()
            .to_string()
    };

    let mut missing = dict.clone();
    missing.tensors.remove("blocks.1.xlstm.igate.weight");
    assert_eq!(
        error(&missing),
        "blocks.1.xlstm.igate.weight: expected a tensor of shape [2, 4, 4], got no such key in \
         the state dict"
    );
    let mut reshaped = dict.clone();
    reshaped.tensors.insert(
        "blocks.0.xlstm.proj_up.weight".into(),
        TensorData::new(vec![0.0f32; 8 * 8], [8, 8]),
    );
    assert_eq!(
        error(&reshaped),
        "blocks.0.xlstm.proj_up.weight: expected shape [128, 8] (the stack's configuration), got \
         [8, 8]"
    );
    let mut extra = dict.clone();
    extra.tensors.insert(
        "blocks.0.xlstm.proj_up.bias".into(),
        TensorData::new(vec![0.0f32; 128], [128]),
    );
    // A bias the stack's layer lacks (the package's bias=True) would be dropped: an error
    // with or without strict.
    let expected = "blocks.0.xlstm.proj_up.bias: expected no such key: the stack's layers have \
                    no bias beside this weight (the xlstm package's bias=False), got a tensor of \
                    shape [128]";
    assert_eq!(error(&extra), expected);
    let lenient = stack().load_state_dict(&extra, "", false);
    assert_eq!(lenient.unwrap_err().to_string(), expected);
    // Keys of no parameter of the stack are ignored without strict.
    let mut other = dict.clone();
    other.tensors.insert(
        "blocks.0.something_else".into(),
        TensorData::new(vec![0.0f32; 3], [3]),
    );
    assert!(stack().load_state_dict(&other, "", false).is_ok());

    let wrong = XlstmStackConfig::new(8, 3)
        .with_slstm_at(vec![3])
        .try_init(&device);
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "slstm_at: expected block indices below num_blocks 3, got [3] (holding 3)"
    );
    for (config, expected) in [
        (
            XlstmStackConfig::new(8, 1).with_mlstm_proj_factor(0.0),
            "mlstm_proj_factor: expected a value > 0 whose inner size (times embedding_size 8) \
             is at most 4294967296, got 0",
        ),
        (
            XlstmStackConfig::new(8, 1).with_mlstm_proj_factor(f64::NAN),
            "mlstm_proj_factor: expected a value > 0 whose inner size (times embedding_size 8) \
             is at most 4294967296, got NaN",
        ),
        (
            XlstmStackConfig::new(8, 1)
                .with_slstm_at(vec![0])
                .with_ffn_proj_factor(-1.0),
            "ffn_proj_factor: expected a value > 0 whose inner size (times embedding_size 8) is \
             at most 4294967296, got -1",
        ),
        (
            XlstmStackConfig::new(8, 1).with_ffn_proj_factor(f64::INFINITY),
            "ffn_proj_factor: expected a value > 0 whose inner size (times embedding_size 8) is \
             at most 4294967296, got inf",
        ),
    ] {
        assert_eq!(config.try_init(&device).unwrap_err().to_string(), expected);
    }
    let heads = XlstmStackConfig::new(8, 1)
        .with_slstm_at(vec![0])
        .with_slstm_heads(3)
        .try_init(&device);
    assert_eq!(
        heads.unwrap_err().to_string(),
        "slstm_heads: expected a divisor of embedding_size 8, got 3"
    );
    // A stack without sLSTM blocks has no sLSTM heads to divide its size (the xlstm package
    // builds this one).
    assert!(XlstmStackConfig::new(6, 2).try_init(&device).is_ok());
    // Nor one of sLSTM blocks only mLSTM heads.
    let slstm_only = XlstmStackConfig::new(8, 1)
        .with_slstm_at(vec![0])
        .with_mlstm_heads(7);
    assert!(slstm_only.try_init(&device).is_ok());
    let bad_input = stack().try_forward(Tensor::zeros([2, 6, 5], &device));
    assert_eq!(
        bad_input.unwrap_err().to_string(),
        "input: expected feature size 8 (last dimension), got 5"
    );
}

/// The stack is causal (per-step norms and feed-forwards, causal convolutions, recurrences
/// that look back only): a sequence's first steps give what they give alone, so a right-padded
/// batch's valid outputs are each example's own, whatever its padding holds.
#[rstest]
fn the_first_steps_give_what_they_give_alone(#[values(2, 64)] chunk_size: usize) {
    let case = fixture("xlstm_blocks/mixed_e8_b3.json");
    let device = device();
    let stack = loaded(&case, "mixed_e8_b3.safetensors", chunk_size, &device);
    let x: Tensor<3> = tensor(&case["input"], &device);
    let whole = stack.forward(x.clone());
    for steps in [1, 3, 5] {
        let prefix = stack.forward(x.clone().narrow(1, 0, steps));
        let what = format!("chunk {chunk_size}: the first {steps} steps");
        assert_close(&what, &whole.clone().narrow(1, 0, steps), &prefix, 1e-5);
    }
}

/// Decoding one step at a time, and running a sequence in parts, give what the whole
/// sequence gives (and the package's own step-by-step outputs).
#[rstest]
fn steps_and_parts_give_what_the_whole_sequence_gives(
    #[values("mlstm_e16_b1", "slstm_e8_b1", "slstm_e8_b2", "mixed_e8_b3")] case_name: &str,
) {
    let case = fixture(&format!("xlstm_blocks/{case_name}.json"));
    let device = device();
    let stack = loaded(&case, &format!("{case_name}.safetensors"), 64, &device);
    let x: Tensor<3> = tensor(&case["input"], &device);
    let [batch, seq, e] = x.dims();
    let whole = stack.forward(x.clone());

    let mut state = None;
    let mut steps = Vec::new();
    for t in 0..seq {
        let (y, next) = stack.step(x.clone().narrow(1, t, 1).reshape([batch, e]), state);
        steps.push(y);
        state = Some(next);
    }
    let stepped = Tensor::stack::<3>(steps, 1);
    assert_close(&format!("{case_name}: steps"), &stepped, &whole, 1e-5);
    let package_steps: Tensor<3> = tensor(&case["step_output"], &device);
    assert_close(
        &format!("{case_name}: the package's steps"),
        &stepped,
        &package_steps,
        2e-4,
    );

    let (first, state) = stack.forward_from(x.clone().narrow(1, 0, 2), None);
    let (rest, _) = stack.forward_from(x.narrow(1, 2, seq - 2), Some(state));
    let parts = Tensor::cat(vec![first, rest], 1);
    assert_close(&format!("{case_name}: parts"), &parts, &whole, 1e-5);
}

#[test]
fn a_state_of_another_stack_or_batch_is_an_error() {
    let device = device();
    let mixed = fixture("xlstm_blocks/mixed_e8_b3.json");
    let stack = loaded(&mixed, "mixed_e8_b3.safetensors", 64, &device);
    let x = Tensor::<3>::zeros([2, 3, 8], &device);
    let (_, state) = stack.forward_from(x.clone(), None);
    let error = |result: Result<_, rnn_core::RnnError>| result.map(|_| ()).unwrap_err().to_string();

    let other = loaded(
        &fixture("xlstm_blocks/slstm_e8_b2.json"),
        "slstm_e8_b2.safetensors",
        64,
        &device,
    );
    assert_eq!(
        error(other.try_forward_from(x.clone(), Some(state.clone()))),
        "state: expected the states of 2 blocks (the stack's), got 3 block states"
    );
    let mut swapped = state.clone();
    swapped.blocks.swap(0, 1);
    assert_eq!(
        error(stack.try_forward_from(x.clone(), Some(swapped))),
        "state.blocks[0]: expected the state of an mLSTM block, got the other kind's"
    );
    assert_eq!(
        error(stack.try_forward_from(Tensor::zeros([3, 1, 8], &device), Some(state.clone()))),
        "state.blocks[0]: expected the state of 3 examples (the input's batch), got the state of 2"
    );

    // Blocks of the same kinds with other sizes: the parts' shapes differ.
    let config = XlstmStackConfig::new(8, 3)
        .with_slstm_at(vec![1])
        .with_mlstm_heads(2)
        .with_slstm_heads(2);
    let wider_kernel = config.clone().with_conv_kernel(6).init(&device);
    assert_eq!(
        error(wider_kernel.try_forward_from(x.clone(), Some(state.clone()))),
        "state.blocks[0].conv: expected shape [2, 5, 64] (block 0 of the stack), got [2, 3, 64]"
    );
    let more_heads = config.clone().with_mlstm_heads(8).init(&device);
    assert_eq!(
        error(more_heads.try_forward_from(x.clone(), Some(state.clone()))),
        "state.blocks[0].memory.memory: expected shape [2, 8, 8, 8] (block 0 of the stack), got \
         [2, 2, 32, 32]"
    );
    let mut shrunk = state;
    if let XlstmBlockState::Slstm(s) = &mut shrunk.blocks[1] {
        s.cell.normalizer = Tensor::zeros([2, 4], &device);
    }
    assert_eq!(
        error(stack.try_forward_from(x, Some(shrunk))),
        "state.blocks[1].cell.normalizer: expected shape [2, 8] (block 1 of the stack), got [2, 4]"
    );
}

#[test]
fn a_block_changed_after_its_config_was_checked_is_an_error() {
    let device = device();
    let mut stack = XlstmStackConfig::new(8, 1).init(&device);
    let x = Tensor::<3>::zeros([2, 3, 8], &device);
    let error = |stack: &XlstmStack| stack.try_forward(x.clone()).unwrap_err().to_string();
    let XlstmBlock::Mlstm(block) = &mut stack.blocks[0] else {
        panic!("an mLSTM block")
    };
    block.chunk_size = 0;
    assert_eq!(
        error(&stack),
        "blocks[0].chunk_size: expected a value > 0, got 0"
    );
    let XlstmBlock::Mlstm(block) = &mut stack.blocks[0] else {
        panic!("an mLSTM block")
    };
    block.chunk_size = 4;
    block.heads = 3;
    assert_eq!(
        error(&stack),
        "blocks[0].heads: expected a divisor of the block's inner size 64, got 3"
    );
}
