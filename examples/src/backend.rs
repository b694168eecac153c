//! The `--backend` flag: which Burn backend runs the example.

use burn::tensor::{Device, DeviceKind};

/// A Burn backend, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn-ndarray on the CPU.
    Ndarray,
    /// wgpu on the default adapter (a GPU, or the CPU through a software Vulkan driver).
    Wgpu,
    /// burn-flex on the CPU.
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
