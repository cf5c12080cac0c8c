"""Draw samples from a trained generator, mapped to [0, 1] whatever the model's output range."""

import torch
from torchvision.utils import make_grid, save_image

from . import checkpoint
from .atomic import atomic_path, save_torch
from .data import DATASETS
from .models import get_variant
from .runtime import resolve_device

SAMPLE_SEED_OFFSET = 1_000_003  # sample noise gets its own stream, separate from the training one
SAMPLES_FORMAT = "gan_study.samples/1"


def load_generator(final_path, model, dataset, seed, cfg, device):
    state = checkpoint.load(final_path, expect={"model": model, "dataset": dataset, "seed": seed})
    variant = get_variant(model)
    gen, _ = variant.build(cfg, DATASETS[dataset].image_shape, None)
    gen.load_state_dict(state["generator"])
    return variant, gen.to(device).eval(), state["status"]


@torch.no_grad()
def generate(variant, gen, cfg, n, seed, device, batch_size=1000):
    rng = torch.Generator(device=device)
    rng.manual_seed(seed + SAMPLE_SEED_OFFSET)
    parts = []
    for start in range(0, n, batch_size):
        z = variant.sample_noise(min(batch_size, n - start), cfg, rng, device)
        parts.append(variant.to_unit_range(gen(z)).float().cpu())
    return torch.cat(parts)


def write_grid(images, path, rows, cols):
    grid = make_grid(images[: rows * cols], nrow=cols, padding=2, pad_value=1.0)
    with atomic_path(path) as tmp:
        save_image(grid, tmp)


def sample(config, model, dataset, seed, final_path, samples_path, grid_path):
    """Write `samples_path` (n_samples images in [0, 1]) and a sample-grid PNG.

    A diverged run has no meaningful samples: the file then records the status and no images, and
    the evaluators pass the status on instead of scoring NaNs.
    """
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    variant, gen, status = load_generator(final_path, model, dataset, seed, cfg, device)
    n = config["parzen"]["n_samples"]
    payload = {"format": SAMPLES_FORMAT, "model": model, "dataset": dataset, "seed": seed, "status": status}
    if status == "completed":
        images = generate(variant, gen, cfg, n, seed, device)
        payload["images"] = images
        write_grid(images, grid_path, config["report"]["grid_rows"], config["report"]["grid_cols"])
    else:
        blank = torch.ones(1, *DATASETS[dataset].image_shape)
        write_grid(blank, grid_path, 1, 1)
    save_torch(samples_path, payload)
    return payload
