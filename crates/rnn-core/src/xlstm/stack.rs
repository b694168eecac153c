//! A residual stack of mLSTM and sLSTM blocks.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::{MlstmBlock, OffsetLayerNorm, SlstmBlock};
use crate::RnnError;
use crate::validate::check_positive;

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
    /// Heads of each sLSTM block (they divide `embedding_size`).
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

    /// Checks the sizes are positive, the heads and blocks divide what they split, and the
    /// sLSTM blocks are blocks of the stack.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("embedding_size", self.embedding_size)?;
        check_positive("num_blocks", self.num_blocks)?;
        check_positive("conv_kernel", self.conv_kernel)?;
        check_positive("chunk_size", self.chunk_size)?;
        if let Some(&k) = self.slstm_at.iter().find(|&&k| k >= self.num_blocks) {
            return Err(RnnError::new(
                "slstm_at",
                format!("block indices below num_blocks {}", self.num_blocks),
                format!("{:?} (holding {k})", self.slstm_at),
            ));
        }
        let divides = |argument: &str, parts: usize, whole: usize, of: &str| {
            check_positive(argument, parts)?;
            if whole.is_multiple_of(parts) {
                Ok(())
            } else {
                Err(RnnError::new(
                    argument,
                    format!("a divisor of {of} {whole}"),
                    parts.to_string(),
                ))
            }
        };
        divides(
            "slstm_heads",
            self.slstm_heads,
            self.embedding_size,
            "embedding_size",
        )?;
        let inner = self.mlstm_inner_size();
        divides(
            "mlstm_heads",
            self.mlstm_heads,
            inner,
            "the mLSTM inner size",
        )?;
        divides(
            "qkv_block_size",
            self.qkv_block_size,
            inner,
            "the mLSTM inner size",
        )
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

    /// Runs the stack over `x: [batch, seq, E]`.
    ///
    /// # Panics
    /// On a bad input, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error for an empty input or one of another
    /// feature size.
    pub fn try_forward(&self, x: Tensor<3>) -> Result<Tensor<3>, RnnError> {
        let [batch, seq, features] = x.dims();
        if batch == 0 || seq == 0 {
            return Err(RnnError::new(
                "input",
                "a non-empty batch and sequence",
                format!("shape {:?}", [batch, seq, features]),
            ));
        }
        let e = self.embedding_size();
        if features != e {
            return Err(RnnError::new(
                "input",
                format!("feature size {e} (last dimension)"),
                features.to_string(),
            ));
        }
        let x = self.blocks.iter().fold(x, |x, block| match block {
            XlstmBlock::Mlstm(b) => b.forward(x),
            XlstmBlock::Slstm(b) => b.forward(x),
        });
        Ok(match &self.post_norm {
            Some(norm) => norm.forward(x),
            None => x,
        })
    }
}
