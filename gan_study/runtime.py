"""Device selection and determinism settings shared by every command."""

import torch

from .errors import GanStudyError


def resolve_device(requested):
    """'auto' → cuda when available, else cpu; 'cuda' without a GPU is an error, not a silent fallback."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise GanStudyError(
            "device: cuda was requested but this machine has no usable CUDA GPU; "
            "set device: cpu (or auto) in the config, or run on a machine with a GPU"
        )
    return torch.device(requested)


def make_deterministic(seed, device):
    """Seed everything and ask for deterministic kernels (bitwise on CPU; see README for GPU tolerance)."""
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False  # autotuning picks kernels by timing, which defeats seeding
    torch.backends.cudnn.deterministic = True
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def set_tf32(allowed):
    """Config `allow_tf32: true`: let NVIDIA GPUs use TF32 for float32 matmuls and convolutions (no effect on CPU).
    `false` leaves torch's defaults alone."""
    if allowed:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
