"""Figure 1 of the paper, from a real run: a 1-D GAN at four stages of training.

p_data = N(μ, σ²); z ~ U[0, 1]; G and D are small MLPs trained with the paper's objectives (D: BCE on real vs
generated, G: non-saturating) and, in (d), its Algorithm 1 (k discriminator steps per generator step). Panels, as
in the paper: (a) early on, D partially accurate; (b) D trained to near its optimum D* = p_data / (p_data + p_g)
with G fixed; (c) after generator updates, G(z) moved towards the data; (d) after long training, p_g ≈ p_data and
D ≈ ½ where the data are. Each panel shows p_data (dots), p_g (solid), D (dashed) and the mapping x = G(z) from the
z line (bottom) to the x line.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from pathlib import Path  # noqa: E402

from .atomic import write_figure_pdf, write_text  # noqa: E402
from .losses import bce_discriminator_loss, non_saturating_generator_loss  # noqa: E402
from .provenance import StampedRecord  # noqa: E402
from .commands import arg, command  # noqa: E402

DATA_MEAN, DATA_STD = 3.0, 0.5
X_RANGE = (-1.0, 6.0)
SUMMARY_KEYS = ("p_g_mean", "p_g_std", "p_g_range", "d_on_data", "d_gap_near_data")  # per panel, into figure1.json


def mlp(width):
    return nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))


def data_density(x):
    return torch.exp(-0.5 * ((x - DATA_MEAN) / DATA_STD) ** 2) / (DATA_STD * math.sqrt(2 * math.pi))


def generated_density(samples, grid, bandwidth=0.08):
    """Gaussian kernel density of G's samples on `grid` (only for drawing p_g)."""
    d = (grid[:, None] - samples[None, :]) / bandwidth
    return torch.exp(-0.5 * d**2).mean(1) / (bandwidth * math.sqrt(2 * math.pi))


def snapshot(gen, disc, rng, grid):
    with torch.no_grad():
        samples = gen(torch.rand(20_000, 1, generator=rng)).squeeze(1)
        z_line = torch.linspace(0, 1, 25)[:, None]
        near_data = grid[(grid - DATA_MEAN).abs() <= 2 * DATA_STD]  # where p_data holds 95% of its mass
        return {
            "p_g": generated_density(samples, grid).tolist(),
            "d": torch.sigmoid(disc(grid[:, None])).squeeze(1).tolist(),
            "z": z_line.squeeze(1).tolist(),
            "g_of_z": gen(z_line).squeeze(1).tolist(),
            "p_g_mean": float(samples.mean()),
            "p_g_std": float(samples.std()),
            "d_on_data": float(torch.sigmoid(disc(DATA_MEAN + DATA_STD * torch.randn(5000, 1, generator=rng))).mean()),
            "d_gap_near_data": float((torch.sigmoid(disc(near_data[:, None])) - 0.5).abs().max()),
            "p_g_range": [float(samples.min()), float(samples.max())],
        }


def train_toy(cfg, seed):
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    gen, disc = mlp(cfg["width"]), mlp(cfg["width"])
    with torch.no_grad():  # start G away from the data, so the panels show it moving
        gen[-1].bias.fill_(0.5)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg["lr"], betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg["lr"], betas=(0.5, 0.999))
    grid = torch.linspace(*X_RANGE, 300)
    batch = cfg["batch_size"]

    def d_step():
        real = DATA_MEAN + DATA_STD * torch.randn(batch, 1, generator=rng)
        fake = gen(torch.rand(batch, 1, generator=rng)).detach()
        loss = bce_discriminator_loss(disc(real).squeeze(1), disc(fake).squeeze(1))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()

    def g_step():
        loss = non_saturating_generator_loss(disc(gen(torch.rand(batch, 1, generator=rng))).squeeze(1))
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    stages = {}
    for _ in range(cfg["early_d_steps"]):
        d_step()
    stages["a"] = snapshot(gen, disc, rng, grid)
    for _ in range(cfg["converge_d_steps"]):
        d_step()
    stages["b"] = snapshot(gen, disc, rng, grid)
    for _ in range(cfg["g_steps_c"]):
        g_step()
    stages["c"] = snapshot(gen, disc, rng, grid)
    steps = cfg["train_steps_d"]
    for step in range(steps):
        if cfg["lr_decay_d"]:  # linearly to 0: the last steps settle on the equilibrium instead of circling it
            for group in (*opt_g.param_groups, *opt_d.param_groups):
                group["lr"] = cfg["lr"] * (1 - step / steps)
        for _ in range(cfg["d_steps_per_g_step"]):
            d_step()
        g_step()
    stages["d"] = snapshot(gen, disc, rng, grid)
    return grid.tolist(), stages


def plot(grid, stages, out_pdf):
    grid_t = torch.tensor(grid)
    fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
    every = slice(None, None, 6)
    for ax, (name, st) in zip(axes, stages.items()):
        ax.plot(grid_t[every], data_density(grid_t)[every], "k.", ms=3, label="$p_{data}$")
        ax.plot(grid, st["p_g"], "g-", lw=1.5, label="$p_g$")
        ax.plot(grid, st["d"], "b--", lw=1.2, label="$D$")
        ax.axhline(-0.12, color="0.3", lw=0.8)
        ax.axhline(-0.42, color="0.3", lw=0.8)
        z_display = [X_RANGE[0] + 0.5 + z * 3.0 for z in st["z"]]  # the z line, drawn under the x line
        for zd, gx in zip(z_display, st["g_of_z"]):
            ax.annotate("", xy=(gx, -0.12), xytext=(zd, -0.42), arrowprops=dict(arrowstyle="-", lw=0.5, color="0.4"))
        ax.text(X_RANGE[0] + 0.05, -0.12, "x", va="bottom", fontsize=8)
        ax.text(X_RANGE[0] + 0.05, -0.42, "z", va="bottom", fontsize=8)
        ax.set_title(f"({name})")
        ax.set_xlim(*X_RANGE)
        ax.set_ylim(-0.5, 1.1)
        ax.set_yticks([0, 0.5, 1])
    axes[0].legend(loc="upper left", fontsize=7, frameon=False)
    write_figure_pdf(fig, out_pdf)
    plt.close(fig)


def _d_steps_text(cfg):
    k = cfg["d_steps_per_g_step"]
    text = "each after one discriminator step" if k == 1 else f"each after $k={k}$ discriminator steps"
    return text + (" and with the learning rate falling linearly to 0" if cfg["lr_decay_d"] else "")


def caption(cfg, d):
    """Figure 1's caption, with the numbers of panel (d) as the run left them."""
    low, high = d["p_g_range"]
    return (
        r"\caption{The paper's Figure~1 from a real run of a 1-D GAN: $p_{data}=\mathcal N("
        rf"{DATA_MEAN:g}, {DATA_STD:g}^2)$ (dots), $p_g$ (solid), $D$ (dashed), and $x=G(z)$ from the $z$ line. "
        rf"(a) after {cfg['early_d_steps']} discriminator steps; (b) after {cfg['converge_d_steps']} more, $D$ near "
        rf"$D^*$; (c) after {cfg['g_steps_c']} generator steps; (d) after {cfg['train_steps_d']} more generator steps, "
        rf"{_d_steps_text(cfg)}: $p_g$ has mean {d['p_g_mean']:.2f} and standard deviation {d['p_g_std']:.2f}, and "
        rf"$D$ averages {d['d_on_data']:.2f} on data and stays within {d['d_gap_near_data']:.2f} of $\tfrac12$ over "
        rf"${DATA_MEAN:g}\pm{2 * DATA_STD:g}$ (beyond the range of $G$, here [{low:.1f}, {high:.1f}], $p_g=0$ and "
        r"$D^*=1$).}")


def figure1(config, out_pdf, out_json):
    cfg = config["figure1"]
    record = StampedRecord(config, cfg["seed"], data_mean=DATA_MEAN, data_std=DATA_STD)
    grid, stages = train_toy(cfg, cfg["seed"])
    plot(grid, stages, out_pdf)
    summary = {name: {k: st[k] for k in SUMMARY_KEYS} for name, st in stages.items()}
    record.update(stages=summary, config=cfg)
    record.write(out_json, "cpu")
    write_text(Path(out_json).with_name("figure1.tex"), "\n".join([
        "% Generated by `python -m gan_study figure1`; do not edit.",
        r"\begin{figure}[tbp]\centering",
        r"\includegraphics[width=\linewidth]{results/figures/figure1.pdf}",
        caption(cfg, summary["d"]),
        r"\label{fig:figure1}",
        r"\end{figure}",
    ]) + "\n")
    return summary


@command("figure1", [arg("--out-pdf", required=True), arg("--out-json", required=True)])
def figure1_command(config, args):
    figure1(config, args.out_pdf, args.out_json)
