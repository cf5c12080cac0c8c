"""graph-check: replayed training steps against eager ones (replay emulated on the CPU)."""

import pytest
import torch


def test_graph_check_compares_replayed_and_eager_training(tmp_path, tiny_config):
    """Off a GPU the replay is emulated (the machinery, not a capture, is checked) and the JSON says so."""
    import json

    from gan_study.graph_check import graph_check_command

    tiny_config["models"]["dcgan"].update(train_limit=640, width=8)

    class Args:
        models, seeds, steps, out_dir = ["mlp_gan", "dcgan"], 2, 4, str(tmp_path)

    graph_check_command(tiny_config, Args())
    result = json.loads((tmp_path / "graph-check-cpu.json").read_text())
    assert result["backend"] == "EagerReplay" and result["passed"] and result["steps"] == 4
    assert [m["model"] for m in result["models"]] == ["mlp_gan", "dcgan"]
    assert all(m["captured"] and m["max_abs_loss_difference"] < 1e-5 for m in result["models"])
    # Eager training run twice from the same seeds: on a CPU it repeats bitwise (the baseline a GPU check reports).
    assert all(m["eager_repeat_max_abs_loss_difference"] == 0.0 == m["eager_repeat_max_abs_weight_difference"]
               for m in result["models"])


def test_graph_check_fails_loudly_when_replay_and_eager_disagree(tmp_path, tiny_config, monkeypatch):
    import json

    from gan_study import graph_check
    from gan_study.errors import GanStudyError
    from gan_study.graphs import EagerReplay

    class Drifting(EagerReplay):  # a replay that reads stale inputs: the kind of bug the check exists for
        @staticmethod
        def capture(step, generators):
            def replay():
                outputs = step()
                return {k: None if v is None else v + 1e-2 for k, v in outputs.items()}
            return replay

    monkeypatch.setattr(graph_check, "EagerReplay", Drifting)

    class Args:
        models, seeds, steps, out_dir = ["mlp_gan"], 1, 3, str(tmp_path)

    with pytest.raises(GanStudyError, match="mlp_gan replayed from CUDA graphs do not agree .* keep cuda_graphs: false"):
        graph_check.graph_check_command(tiny_config, Args())
    result = json.loads((tmp_path / "graph-check-cpu.json").read_text())
    assert not result["passed"] and result["models"][0]["max_abs_loss_difference"] > 5e-3
    assert result["models"][0]["eager_repeat_max_abs_loss_difference"] == 0.0  # the drift is the replay's alone


def test_graph_check_names_the_tensor_that_differs_most(tiny_config, monkeypatch):
    """Which tensor differs most says why a check failed (e.g. a parameter moved by rounding noise alone): a graphed
    run started from one weight offset by 0.05 (Adam moves any weight by at most lr = 2e-4 a step) names that one."""
    from gan_study import graph_check
    from gan_study.graphs import EagerReplay

    real_trainer = graph_check._trainer

    def offset_when_graphed(config, model, seeds, vectorized, backend=None):
        trainer = real_trainer(config, model, seeds, vectorized, backend)
        if backend is not None:
            with torch.no_grad():
                trainer.disc.params["features.0.weight"].add_(0.05)
        return trainer

    monkeypatch.setattr(graph_check, "_trainer", offset_when_graphed)
    tiny_config["models"]["dcgan"].update(train_limit=640, width=8)
    record = graph_check._graph_check_model(tiny_config, "dcgan", [0], 2, EagerReplay())
    assert not record["passed"] and record["max_abs_weight_difference_in"] == "disc.features.0.weight"
    assert record["max_abs_weight_difference"] == pytest.approx(0.05, abs=1e-3)
    assert record["eager_repeat_max_abs_weight_difference"] == 0.0


def test_graph_check_keeps_a_copy_of_every_replayed_step(tiny_config):
    """A replay returns the same static tensors every step (a CUDA graph's outputs; emulated on the CPU): kept without
    a copy, every row would read as the last one and the check would compare nothing. The check copies each step, and
    compares the generator loss of every step that has one (WGAN: one in five)."""
    from gan_study.graph_check import _step_losses, _trainer
    from gan_study.graphs import EagerReplay

    tiny_config["models"]["wgan"].update(train_limit=640, width=8)
    trainer = _trainer(tiny_config, "wgan", [0, 1], True, EagerReplay())
    batches = trainer.steps_through_epochs()
    kept = [trainer.step(*batches(i)) for i in range(3)]
    assert kept[0]["d_loss"] is kept[2]["d_loss"]  # the static outputs: the trap
    losses = _step_losses(trainer, 10)
    assert losses["d_loss"].shape == (10, 2) and not torch.equal(losses["d_loss"][0], losses["d_loss"][-1])
    assert losses["g_loss"].shape == (2, 2)  # steps 5 and 10 of the 13: every fifth step updates the generator


def test_a_long_check_reports_per_seed_where_the_runs_part_and_how_they_end(tmp_path, tiny_config, monkeypatch):
    """`--report-only --tag`: the comparison a GPU runs over 10 epochs of Table 1's cell (where correct runs drift
    apart eventually): per seed the first step the graphed run leaves the eager one, and how each run ends — written
    beside the verdict, never in its place, and no failure exit."""
    import json

    from gan_study import graph_check
    from gan_study.graphs import EagerReplay

    class Args:
        models, seeds, steps, out_dir, tag, report_only = ["mlp_gan"], 2, 6, str(tmp_path), "long", True

    graph_check.graph_check_command(tiny_config, Args())
    agreeing = json.loads((tmp_path / "graph-check-cpu-long.json").read_text())["models"][0]["seeds"]
    assert [s["seed"] for s in agreeing] == [0, 1]
    assert all(s["first_step_apart"] is None and s["eager_repeat_first_step_apart"] is None for s in agreeing)
    assert agreeing[0]["last_steps_mean"]["eager"]["d_real"] == agreeing[0]["last_steps_mean"]["graphed"]["d_real"]

    class PartsAtStepThree(EagerReplay):
        @staticmethod
        def capture(step, generators):
            count = {"steps": 0}

            def replay():
                outputs, count["steps"] = step(), count["steps"] + 1
                late = count["steps"] > 3
                return {k: None if v is None else v + (1e-2 if late else 0.0) for k, v in outputs.items()}
            return replay

    monkeypatch.setattr(graph_check, "EagerReplay", PartsAtStepThree)
    graph_check.graph_check_command(tiny_config, Args())  # report only: no error although the runs part
    result = json.loads((tmp_path / "graph-check-cpu-long.json").read_text())
    assert not result["passed"] and not (tmp_path / "graph-check-cpu.json").exists()
    assert [s["first_step_apart"] for s in result["models"][0]["seeds"]] == [3, 3]
