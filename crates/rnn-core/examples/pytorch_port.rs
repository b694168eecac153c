//! Port PyTorch RNN weights: load a `state_dict` (safetensors or `.pt`) into an rnn-core layer,
//! run it, and save it back in PyTorch's names and layout.
//!
//! ```sh
//! cargo run -p rnn-core --example pytorch_port -- lstm 2 bi 4 3 weights.pt out.safetensors [prefix]
//! ```
//! Arguments: cell (`lstm`, `gru`, `rnn_tanh`, `rnn_relu`), layers, `uni`|`bi`, input size,
//! hidden size, input file, output file, and an optional key prefix (e.g. `encoder.rnn`).
//! Bias is on when the file has biases; an LSTM projects its state (`proj_size`) when the file
//! has `weight_hr_l0`, to that tensor's row count.

use burn::tensor::{Device, Distribution, Tensor};
use rnn_core::pytorch::{PytorchCell, StateDict, normalise};
use rnn_core::{ElmanCell, GruCell, LstmCell, Nonlinearity, Rnn, RnnConfig, RnnError, RnnState};

fn port<C: PytorchCell<State<3> = RnnState<3>>>(
    config: RnnConfig,
    dict: &StateDict,
    prefix: &str,
    out: &str,
) -> Result<(), RnnError> {
    let device = Device::default();
    let rnn: Rnn<C> = config.init(&device);
    let rnn = rnn.load_state_dict(dict, prefix, true)?;
    let x = Tensor::<3>::random([2, 5, rnn.input_size()], Distribution::Default, &device);
    let y = rnn.forward(x, None, None);
    println!(
        "loaded {} cells; output {:?}, h_n {:?}",
        rnn.cells().len(),
        y.output.dims(),
        y.state.hidden.dims()
    );
    rnn.state_dict(prefix)?.write_safetensors(out)?;
    println!("saved {out}");
    Ok(())
}

fn main() -> Result<(), RnnError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 7 {
        eprintln!("usage: pytorch_port CELL LAYERS uni|bi INPUT HIDDEN IN_FILE OUT_FILE [PREFIX]");
        std::process::exit(2);
    }
    let number = |i: usize| {
        args[i]
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("argument {i}: expected a number, got {}", args[i]))
    };
    let prefix = args.get(7).map(String::as_str).unwrap_or("");
    let dict = StateDict::read(&args[5])?;
    // The file's keys under the prefix, as the loader reads them.
    let dotted = normalise(prefix);
    let proj_size = dict
        .tensors
        .get(&format!("{dotted}weight_hr_l0"))
        .map_or(0, |data| data.shape()[0]);
    let config = RnnConfig::new(number(3), number(4))
        .with_proj_size(proj_size)
        .with_num_layers(number(1))
        .with_bidirectional(args[2] == "bi")
        .with_bias(dict.tensors.contains_key(&format!("{dotted}bias_ih_l0")));
    match args[0].as_str() {
        "lstm" => port::<LstmCell>(config, &dict, prefix, &args[6]),
        "gru" => port::<GruCell>(config, &dict, prefix, &args[6]),
        "rnn_tanh" => port::<ElmanCell>(config, &dict, prefix, &args[6]),
        "rnn_relu" => port::<ElmanCell>(
            config.with_nonlinearity(Nonlinearity::Relu),
            &dict,
            prefix,
            &args[6],
        ),
        other => panic!("cell: expected lstm, gru, rnn_tanh or rnn_relu, got {other}"),
    }
}
