//! The constructors that the configs of the heads reading through an encoder
//! ([`SequenceClassifierConfig`](crate::SequenceClassifierConfig),
//! [`SequenceTaggerConfig`](crate::SequenceTaggerConfig)) share, written once: each config has
//! a private `try_build(device, make_encoder)` that checks its own fields and builds the head;
//! these build the configured [`AnyRnn`](rnn_core::AnyRnn) or take a given encoder.

/// Implements `try_init`, `init`, `try_init_with` and `init_with` for `$config`, whose head is
/// `$head` (called `$noun` in the docs), on top of its `try_build`.
macro_rules! head_constructors {
    ($config:ident, $head:ident, $noun:literal) => {
        impl $config {
            #[doc = concat!("Creates the ", $noun, ", or says which field is invalid.")]
            pub fn try_init(&self, device: &Device) -> Result<$head, RnnError> {
                self.try_build(device, |features| {
                    self.encoder.try_init_as("encoder", features, device)
                })
            }

            #[doc = concat!("Creates the ", $noun, ".")]
            ///
            /// # Panics
            /// If the config is invalid; the message names the field.
            pub fn init(&self, device: &Device) -> $head {
                self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
            }

            #[doc = concat!("Creates the ", $noun, " around `encoder` (any [`SequenceEncoder`], e.g. an")]
            /// [`Rnn`](rnn_core::Rnn) of a cell defined elsewhere) instead of the network the
            /// config's `encoder` describes, which is then not used; or says which field is
            /// invalid, or that `encoder` does not read [`input`](Self::input)'s features
            /// (`encoder`).
            pub fn try_init_with<E: SequenceEncoder>(
                &self,
                encoder: E,
                device: &Device,
            ) -> Result<$head<E>, RnnError> {
                self.try_build(device, |_| Ok(encoder))
            }

            /// [`try_init_with`](Self::try_init_with).
            ///
            /// # Panics
            /// If the config is invalid or `encoder` does not fit; the message names the field.
            pub fn init_with<E: SequenceEncoder>(&self, encoder: E, device: &Device) -> $head<E> {
                self.try_init_with(encoder, device)
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        }
    };
}

pub(crate) use head_constructors;
