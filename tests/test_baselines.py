import json

import torch

from gan_study.baselines import kmeans, parzen_baselines


def objective(x, centroids):
    return torch.cdist(x.flatten(1), centroids.flatten(1)).min(1).values.pow(2).sum().item()


def test_kmeans_recovers_separated_clusters_and_lowers_its_objective():
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([m + 0.3 * torch.randn(200, 2, generator=g) for m in means])
    start = kmeans(x, 3, iterations=0, seed=1)
    found = kmeans(x, 3, iterations=20, seed=1)
    assert objective(x, found) < objective(x, start)
    for m in means:  # every true centre has a centroid next to it
        assert torch.cdist(m[None], found).min() < 0.2


def test_theis_baselines_use_the_paper_protocol(tiny_config, tmp_path):
    tiny_config["parzen_baselines"].update(kmeans_iterations=3, kmeans_train_limit=1000)
    record = parzen_baselines(tiny_config, "mnist", tmp_path / "b.json")
    for key in ("true_data", "kmeans"):
        r = record[key]
        assert r["n_centres"] == 200 and r["n_valid"] == 50 and r["n_test"] == 100
        assert r["sigma"] in r["sigma_grid"]
    assert json.loads((tmp_path / "b.json").read_text())["kmeans"]["iterations"] == 3
