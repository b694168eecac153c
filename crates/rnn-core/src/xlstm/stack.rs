//! A residual stack of mLSTM and sLSTM blocks.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{DType, Device, Tensor};

use super::{MlstmBlock, MlstmBlockState, OffsetLayerNorm, SlstmBlock, SlstmBlockState};
use crate::RnnError;
use crate::validate::{check_divisor, check_feature_size, check_positive, check_tensor};

/// Configuration of an [`XlstmStack`], with the `xlstm` package's defaults:
/// `XlstmStackConfig::new(128, 8).with_slstm_at(vec![3])` is a 7:1 mix of mLSTM and sLSTM
/// blocks.
#[derive(Config, Debug)]
pub struct XlstmStackConfig {
    /// The embedding size `E`: the stack's input and output features.
    pub embedding_size: usize,
    /// Number of blocks.
    pub num_blocks: usize,
    /// The blocks that are sLSTM blocks (indices below `num_blocks`); the others are mLSTM
    /// blocks.
    #[config(default = "Vec::new()")]
    pub slstm_at: Vec<usize>,
    /// Heads of each mLSTM block's memory (they divide its inner size).
    #[config(default = 4)]
    pub mlstm_heads: usize,
    /// Heads of each sLSTM block (they divide `embedding_size`; unchecked without sLSTM
    /// blocks, as the mLSTM fields are without mLSTM blocks).
    #[config(default = 4)]
    pub slstm_heads: usize,
    /// Width of the blocks' causal convolutions.
    #[config(default = 4)]
    pub conv_kernel: usize,
    /// Size of the blocks of the mLSTM's block-diagonal q, k, v projections.
    #[config(default = 4)]
    pub qkv_block_size: usize,
    /// The mLSTM block's up-projection factor (its inner size: `E` times this, rounded up to
    /// a multiple of 64).
    #[config(default = 2.0)]
    pub mlstm_proj_factor: f64,
    /// The sLSTM block's feed-forward factor (its inner size, rounded likewise).
    #[config(default = 1.3)]
    pub ffn_proj_factor: f64,
    /// Steps the mLSTM memory runs at once ([`CellConfig::chunk_size`](crate::CellConfig::chunk_size)).
    #[config(default = 64)]
    pub chunk_size: usize,
    /// Whether a layer norm follows the last block.
    #[config(default = true)]
    pub post_blocks_norm: bool,
}

impl XlstmStackConfig {
    /// The mLSTM block's inner size `D`: `mlstm_proj_factor · E` rounded up to a multiple of
    /// 64 (the package's rounding).
    pub fn mlstm_inner_size(&self) -> usize {
        round_up_64(self.mlstm_proj_factor * self.embedding_size as f64)
    }

    /// The sLSTM block's feed-forward inner size `U`, rounded likewise.
    pub fn ffn_inner_size(&self) -> usize {
        round_up_64(self.ffn_proj_factor * self.embedding_size as f64)
    }

    /// The deviation of the down-projections' "Wang init", `2 / (blocks · √E)`.
    pub(crate) fn wang_std(&self) -> f64 {
        2.0 / self.num_blocks as f64 / (self.embedding_size as f64).sqrt()
    }

    /// Checks the sizes are positive, the projection factors positive and of a sane size, the
    /// heads and blocks divide what they split, and the sLSTM blocks are blocks of the stack.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("embedding_size", self.embedding_size)?;
        check_positive("num_blocks", self.num_blocks)?;
        if self.conv_kernel < 2 {
            return Err(RnnError::new(
                "conv_kernel",
                "a width of at least 2",
                self.conv_kernel.to_string(),
            ));
        }
        check_positive("chunk_size", self.chunk_size)?;
        for (argument, factor) in [
            ("mlstm_proj_factor", self.mlstm_proj_factor),
            ("ffn_proj_factor", self.ffn_proj_factor),
        ] {
            let inner = factor * self.embedding_size as f64;
            if !(factor > 0.0 && inner <= MAX_INNER_SIZE) {
                return Err(RnnError::new(
                    argument,
                    format!(
                        "a value > 0 whose inner size (times embedding_size {}) is at most \
                         {MAX_INNER_SIZE}",
                        self.embedding_size
                    ),
                    factor.to_string(),
                ));
            }
        }
        if let Some(&k) = self.slstm_at.iter().find(|&&k| k >= self.num_blocks) {
            return Err(RnnError::new(
                "slstm_at",
                format!("block indices below num_blocks {}", self.num_blocks),
                format!("{:?} (holding {k})", self.slstm_at),
            ));
        }
        // Only sLSTM blocks have sLSTM heads.
        if !self.slstm_at.is_empty() {
            check_divisor(
                "slstm_heads",
                self.slstm_heads,
                self.embedding_size,
                "embedding_size",
            )?;
        }
        // Only mLSTM blocks have mLSTM heads and query/key/value blocks.
        if (0..self.num_blocks).any(|k| !self.slstm_at.contains(&k)) {
            let inner = self.mlstm_inner_size();
            check_divisor(
                "mlstm_heads",
                self.mlstm_heads,
                inner,
                "the mLSTM inner size",
            )?;
            check_divisor(
                "qkv_block_size",
                self.qkv_block_size,
                inner,
                "the mLSTM inner size",
            )?;
        }
        Ok(())
    }

    /// Creates the stack with the package's initialisation, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<XlstmStack, RnnError> {
        self.validate()?;
        let blocks = (0..self.num_blocks)
            .map(|k| match self.slstm_at.contains(&k) {
                true => XlstmBlock::Slstm(SlstmBlock::new(self, k, device)),
                false => XlstmBlock::Mlstm(MlstmBlock::new(self, device)),
            })
            .collect();
        Ok(XlstmStack {
            blocks,
            post_norm: self
                .post_blocks_norm
                .then(|| OffsetLayerNorm::new(self.embedding_size, device)),
        })
    }

    /// Creates the stack.
    ///
    /// # Panics
    /// If the config is invalid (see [`try_init`](Self::try_init)).
    pub fn init(&self, device: &Device) -> XlstmStack {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The largest inner size a projection factor may give: far beyond any real model, and far
/// from overflowing the rounding.
const MAX_INNER_SIZE: f64 = (1u64 << 32) as f64;

fn round_up_64(size: f64) -> usize {
    (size / 64.0).ceil() as usize * 64
}

/// One block of an [`XlstmStack`].
#[derive(Module, Debug)]
pub enum XlstmBlock {
    /// An mLSTM block.
    Mlstm(MlstmBlock),
    /// An sLSTM block.
    Slstm(SlstmBlock),
}

/// A residual stack of mLSTM and sLSTM blocks (the `xlstm` package's `xLSTMBlockStack`):
/// `[batch, seq, E]` → `[batch, seq, E]`, each block adding to the residual stream, then an
/// optional layer norm.
#[derive(Module, Debug)]
pub struct XlstmStack {
    /// The blocks, in order.
    pub blocks: Vec<XlstmBlock>,
    /// The norm after the last block (`post_blocks_norm`).
    pub post_norm: Option<OffsetLayerNorm>,
}

impl XlstmStack {
    /// The embedding size `E`.
    pub fn embedding_size(&self) -> usize {
        match &self.blocks[0] {
            XlstmBlock::Mlstm(b) => b.norm.weight.dims()[0],
            XlstmBlock::Slstm(b) => b.norm.weight.dims()[0],
        }
    }

    /// Runs the stack over `x: [batch, seq, E]`, a whole sequence.
    ///
    /// The stack is causal: each step's output depends on it and the steps before it only,
    /// so the valid steps of a right-padded batch give what each example gives alone.
    ///
    /// # Panics
    /// On a bad input, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error for an empty input or one of another
    /// feature size.
    pub fn try_forward(&self, x: Tensor<3>) -> Result<Tensor<3>, RnnError> {
        Ok(self.try_forward_from(x, None)?.0)
    }

    /// Runs the stack over `x: [batch, seq, E]`, the continuation of a sequence that left
    /// `state` (from this method or [`step`](Self::step); `None`: a new sequence). Returns
    /// the outputs and the state after `x`: a sequence run in parts gives what it gives whole.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward_from`](Self::try_forward_from).
    pub fn forward_from(
        &self,
        x: Tensor<3>,
        state: Option<XlstmStackState>,
    ) -> (Tensor<3>, XlstmStackState) {
        self.try_forward_from(x, state)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward_from`](Self::forward_from), returning an error naming the bad argument: an
    /// empty input or one of another feature size, a state of another stack or batch.
    pub fn try_forward_from(
        &self,
        x: Tensor<3>,
        state: Option<XlstmStackState>,
    ) -> Result<(Tensor<3>, XlstmStackState), RnnError> {
        let [batch, seq, features] = x.dims();
        if batch == 0 || seq == 0 {
            return Err(RnnError::new(
                "input",
                "a non-empty batch and sequence",
                format!("shape {:?}", [batch, seq, features]),
            ));
        }
        check_feature_size("input", self.embedding_size(), features)?;
        for (k, block) in self.blocks.iter().enumerate() {
            // The fields are public: a block changed after its config was checked.
            if let XlstmBlock::Mlstm(b) = block {
                check_positive(format_args!("blocks[{k}].chunk_size"), b.chunk_size)?;
                let inner = b.conv.weight.dims()[0];
                check_divisor(
                    format_args!("blocks[{k}].heads"),
                    b.heads,
                    inner,
                    "the block's inner size",
                )?;
            }
        }
        let states: Vec<Option<XlstmBlockState>> = match state {
            Some(state) => {
                state.check(&self.blocks, batch, x.dtype(), &x.device())?;
                state.blocks.into_iter().map(Some).collect()
            }
            None => vec![None; self.blocks.len()],
        };
        let mut x = x;
        let mut finals = Vec::with_capacity(self.blocks.len());
        for (block, state) in self.blocks.iter().zip(states) {
            let (y, state) = match (block, state) {
                (XlstmBlock::Mlstm(b), Some(XlstmBlockState::Mlstm(s))) => {
                    let (y, s) = b.forward(x, Some(s));
                    (y, XlstmBlockState::Mlstm(s))
                }
                (XlstmBlock::Mlstm(b), _) => {
                    let (y, s) = b.forward(x, None);
                    (y, XlstmBlockState::Mlstm(s))
                }
                (XlstmBlock::Slstm(b), Some(XlstmBlockState::Slstm(s))) => {
                    let (y, s) = b.forward(x, Some(s));
                    (y, XlstmBlockState::Slstm(s))
                }
                (XlstmBlock::Slstm(b), _) => {
                    let (y, s) = b.forward(x, None);
                    (y, XlstmBlockState::Slstm(s))
                }
            };
            x = y;
            finals.push(state);
        }
        let y = match &self.post_norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        Ok((y, XlstmStackState { blocks: finals }))
    }

    /// One step for decoding: `x: [batch, E]` after `state` (`None`: the first step) →
    /// the output `[batch, E]` and the state after it ([`forward_from`](Self::forward_from)
    /// over a sequence of one step).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward_from`](Self::try_forward_from).
    pub fn step(
        &self,
        x: Tensor<2>,
        state: Option<XlstmStackState>,
    ) -> (Tensor<2>, XlstmStackState) {
        let [batch, features] = x.dims();
        let (y, state) = self.forward_from(x.unsqueeze_dim(1), state);
        (y.reshape([batch, features]), state)
    }
}

/// The state of one block of an [`XlstmStack`] between calls.
// Tensors are large handles; one state per block per call: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum XlstmBlockState {
    /// An mLSTM block's.
    Mlstm(MlstmBlockState),
    /// An sLSTM block's.
    Slstm(SlstmBlockState),
}

/// Checks block `k`'s `state` is one of `block`'s kind for `batch` examples, and each of its
/// parts has the shape `block` expects, the input's `dtype` and `device`.
fn check_block_state(
    k: usize,
    state: &XlstmBlockState,
    block: &XlstmBlock,
    batch: usize,
    dtype: DType,
    device: &Device,
) -> Result<(), RnnError> {
    let history = |conv: &super::parts::CausalConv| {
        let [channels, _, kernel] = conv.weight.dims();
        [batch, kernel - 1, channels]
    };
    // Said before the parts' shapes, which all differ then.
    let examples = |conv: &Tensor<3>| {
        if conv.dims()[0] != batch {
            return Err(RnnError::new(
                format!("state.blocks[{k}]"),
                format!("the state of {batch} examples (the input's batch)"),
                format!("the state of {}", conv.dims()[0]),
            ));
        }
        Ok(())
    };
    // Each part is a tensor of its own rank: one call each.
    macro_rules! check {
        ($part:literal, $tensor:expr, $shape:expr) => {
            check_tensor(
                format_args!(concat!("state.blocks[{}].", $part), k),
                $tensor,
                &$shape,
                format_args!("block {k} of the stack"),
                dtype,
                device,
            )?
        };
    }
    match (state, block) {
        (XlstmBlockState::Mlstm(s), XlstmBlock::Mlstm(b)) => {
            examples(&s.conv)?;
            let (heads, dh) = (b.heads, b.conv.weight.dims()[0] / b.heads);
            let m = &s.memory;
            check!("conv", &s.conv, history(&b.conv));
            check!("memory.memory", &m.memory, [batch, heads, dh, dh]);
            check!("memory.normalizer", &m.normalizer, [batch, heads, dh, 1]);
            check!("memory.stabilizer", &m.stabilizer, [batch, heads, 1, 1]);
        }
        (XlstmBlockState::Slstm(s), XlstmBlock::Slstm(b)) => {
            examples(&s.conv)?;
            let cell = [batch, b.conv.weight.dims()[0]];
            let c = &s.cell;
            check!("conv", &s.conv, history(&b.conv));
            check!("cell.hidden", &c.hidden, cell);
            check!("cell.cell", &c.cell, cell);
            check!("cell.normalizer", &c.normalizer, cell);
            check!("cell.stabilizer", &c.stabilizer, cell);
        }
        (_, block) => {
            let kind = match block {
                XlstmBlock::Mlstm(_) => "mLSTM",
                XlstmBlock::Slstm(_) => "sLSTM",
            };
            return Err(RnnError::new(
                format!("state.blocks[{k}]"),
                format!("the state of an {kind} block"),
                "the other kind's",
            ));
        }
    }
    Ok(())
}

/// What an [`XlstmStack`] carries from one part of a sequence to the next
/// ([`XlstmStack::forward_from`], [`XlstmStack::step`]): each block's state, in order.
#[derive(Debug, Clone)]
pub struct XlstmStackState {
    /// The blocks' states.
    pub blocks: Vec<XlstmBlockState>,
}

impl XlstmStackState {
    /// Checks the state is one of `blocks` (as many, of the same kinds) for `batch` examples
    /// of the input's `dtype` and `device` ([`check_block_state`]).
    fn check(
        &self,
        blocks: &[XlstmBlock],
        batch: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        if self.blocks.len() != blocks.len() {
            return Err(RnnError::new(
                "state",
                format!("the states of {} blocks (the stack's)", blocks.len()),
                format!("{} block states", self.blocks.len()),
            ));
        }
        for (k, (state, block)) in self.blocks.iter().zip(blocks).enumerate() {
            check_block_state(k, state, block, batch, dtype, device)?;
        }
        Ok(())
    }
}
