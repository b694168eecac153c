//! The `--backend` flag: which Burn backend runs the example.

use burn::tensor::{Device, DeviceKind};

/// A Burn backend, chosen at run time. The default is flex: on the CPU it trains the
/// translation model 1.25–1.5× faster than ndarray and decodes 1.7–1.8× faster, with the same
/// learning curve (BENCHMARKS.md, 2026-12-05), and Burn deprecates ndarray in its favour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// burn-ndarray on the CPU.
    Ndarray,
    /// wgpu on the default adapter (a GPU, or the CPU through a software Vulkan driver).
    Wgpu,
    /// burn-flex on the CPU.
    #[default]
    Flex,
}

impl Backend {
    /// The backend's default device (without autodiff; training adds it).
    #[allow(deprecated)] // burn-ndarray is deprecated in favour of flex, and still a backend we support
    pub fn device(self) -> Device {
        match self {
            Backend::Ndarray => Device::ndarray(),
            Backend::Wgpu => Device::wgpu(DeviceKind::DefaultDevice),
            Backend::Flex => Device::flex(),
        }
    }
}
