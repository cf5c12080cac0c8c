"""The remote-GPU tool, tested on a CPU: bundles, their check, the deadline, the packing, and one whole remote run
with a tiny profile run twice (stopped at its deadline, then resumed to the end)."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tools.remote_gpu import core
from gan_study.errors import GanStudyError
from tests.conftest import REPO, data_dir, finish_runs
from tools.remote_gpu.rule_times import snakemake_job_times


def test_the_wheels_to_bundle_are_what_the_image_lacks():
    missing = core.missing_packages()
    assert {"snakemake", "torch-fidelity", "jsonschema", "snakemake-interface-common"} <= set(missing)
    assert not {"torch", "numpy", "pandas", "scipy", "triton"} & set(missing)  # the image has them
    assert all(v for v in missing.values())


def fake_inputs(tmp_path, weight_bytes=2500):
    data = tmp_path / "data"
    for folder in ("mnist", "fashion-mnist"):
        (data / folder).mkdir(parents=True)
        (data / folder / "train-images-idx3-ubyte.gz").write_bytes(os.urandom(300))
    weights = tmp_path / "weights.pth"
    weights.write_bytes(os.urandom(weight_bytes))
    return data, weights


def test_bundles_round_trip_and_refuse_an_altered_part(tmp_path):
    data, weights = fake_inputs(tmp_path)
    manifest = core.prepare(data, weights, tmp_path / "dev", wheels=False, limit=1000)
    assert manifest["weights"]["parts"] == ["w1/weights.pth.part00", "w2/weights.pth.part01", "w3/weights.pth.part02"]
    assert all((tmp_path / "dev" / rel).stat().st_size <= 1000 for rel in manifest["weights"]["parts"])
    data_dir, rebuilt, wheels = core.restore(tmp_path / "dev", tmp_path / "there")
    assert rebuilt.read_bytes() == weights.read_bytes() and wheels == []
    assert (data_dir / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == \
        (data / "mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    part = tmp_path / "dev" / "w2" / "weights.pth.part01"
    altered = part.read_bytes()
    part.write_bytes(bytes([altered[0] ^ 0xFF]) + altered[1:])  # always a change (a fixed byte may equal the old one)
    with pytest.raises(GanStudyError, match="w2/weights.pth.part01 is missing or altered"):
        core.restore(tmp_path / "dev", tmp_path / "there")


def test_the_source_of_a_commit_travels_in_the_bundles_and_a_stage_trains_with_it(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # git history
    monkeypatch.setattr(core, "STATE", tmp_path / "state")
    data, weights = fake_inputs(tmp_path)
    codes = [("HEAD", "HEAD:workflows/studies/paper.yaml")]
    manifest = core.prepare(data, weights, tmp_path / "dev", wheels=False, limit=4 * 2**20, codes=codes)
    assert {"d1/code-HEAD.tar.gz", "d1/code-HEAD.config.json"} <= set(manifest["files"])
    core.restore(tmp_path / "dev", tmp_path / "there")  # checked against the manifest like the data
    stage = core.ReproduceStage("w", "results/paper", "mlp_gan", "mnist", [0], code="HEAD",
                                code_config="HEAD:workflows/studies/paper.yaml")
    flags = stage.code_arguments({"BUNDLE_ROOT": str(tmp_path / "dev")})
    assert flags[::2] == ["--code", "--code-config", "--code-commit"] and flags[-1] == "HEAD"
    assert (Path(flags[1]) / "gan_study" / "__main__.py").is_file()
    assert Path(flags[3]).read_text() == (REPO / "workflows/studies/paper.yaml").read_text()
    with pytest.raises(GanStudyError, match="cannot export commit 0000000"):
        core.code_archive("0000000", "HEAD:README.md", tmp_path / "x.tar.gz")


def test_data_larger_than_one_bundle_spreads_over_folders_and_is_gathered_again(tmp_path):
    data, weights = fake_inputs(tmp_path)
    for folder in ("mnist", "fashion-mnist"):
        (data / folder / "t10k-images-idx3-ubyte.gz").write_bytes(os.urandom(900))
    manifest = core.prepare(data, weights, tmp_path / "dev", wheels=False, limit=1000)
    folders = {rel.split("/")[0] for rel in manifest["files"] if rel.endswith(".gz")}
    assert len(folders) >= 2 and all(f.startswith("d") for f in folders)
    data_dir, _, _ = core.restore(tmp_path / "dev", tmp_path / "there")
    for folder in ("mnist", "fashion-mnist"):
        for gz in (data / folder).glob("*.gz"):
            assert (data_dir / folder / gz.name).read_bytes() == gz.read_bytes()


def test_bundles_for_calls_without_fid_hold_only_the_named_data_and_no_weights(tmp_path):
    """A lease too short for the Inception weights' calls sends MNIST and the wheels alone (one call); `restore`
    refuses to run FID from such bundles, and a stage whose dataset they lack is skipped and named, never run."""
    data, _ = fake_inputs(tmp_path)
    manifest = core.prepare(data, None, tmp_path / "dev", wheels=False, limit=1000, datasets=["mnist"])
    assert manifest["weights"] is None and manifest["datasets"] == ["mnist"]
    assert [rel for rel in manifest["files"] if rel.endswith(".gz")] == ["d1/mnist/train-images-idx3-ubyte.gz"]
    data_dir, rebuilt, _ = core.restore(tmp_path / "dev", tmp_path / "there", weights=False)
    assert rebuilt is None and (data_dir / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    with pytest.raises(GanStudyError, match="hold no Inception weights .* run with --without-fid-weights"):
        core.restore(tmp_path / "dev", tmp_path / "there")
    stages = [core.ReproduceStage("mnist cell", "results/paper", "mlp_gan", "mnist", [0]),
              core.ReproduceStage("fashion cell", "results/paper", "mlp_gan", "fashion_mnist", [0]),
              core.ReproduceStage("cifar cell", "results/paper", "dcgan", "cifar10", [0])]  # left out when absent
    assert core._stages_without_data(tmp_path / "dev", stages) == {"fashion cell": ["fashion_mnist"]}
    with pytest.raises(GanStudyError, match=r"prepare --datasets fashion_mnist: no \*.gz files under .*fashion-mnist"):
        core.prepare(tmp_path / "nothing", None, tmp_path / "dev2", wheels=False, limit=1000,
                     datasets=["fashion_mnist"])


def test_a_bundle_leaves_room_for_the_travelling_tree():
    assert core.bundle_limit(0) == 48 * 2**20  # never above the 48 MiB the device README advises
    assert core.bundle_limit(20 * 2**20) == 43 * 2**20  # 64 MiB a call, 1 MiB to spare
    with pytest.raises(GanStudyError, match="leaves under 8 MiB per bundle"):
        core.bundle_limit(60 * 2**20)
    tree = core.travelling_tree_bytes(REPO)
    assert tree + core.bundle_limit(tree) < 64 * 2**20 and tree > (REPO / "README.md").stat().st_size


def test_small_bundles_share_a_call_and_the_manifest_goes_first(tmp_path):
    for name, size in (("d1", 400), ("w1", 900), ("w2", 900), ("w3", 100), ("p1", 500)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_bytes(b"x" * size)
    assert core.bundle_calls(tmp_path, 1000) == [["d1", "p1", "w3"], ["w1"], ["w2"]]


def test_the_deadline_stops_a_command_and_its_children():
    outcome, code, seconds = core.run_until([sys.executable, "-c", "import subprocess, sys; subprocess.run(["
                                              "sys.executable, '-c', 'import time; time.sleep(60)'])"], 1, grace_s=5)
    assert outcome == "deadline" and seconds < 10
    assert core.run_until([sys.executable, "-c", "print()"], 30)[:2] == ("finished", 0)


def _files(root, sizes):
    for name, size in sizes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(os.urandom(size))


def test_results_are_packed_into_returnable_parts_and_unpacked_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _files(tmp_path, {"results/x/blob": 40_000, "results/x/table.csv": 300})
    parts, _, left_out = core.pack(["results/x", "missing/is/fine"], tmp_path / "out", limit=10_000, max_parts=7,
                                   total=70_000)
    assert left_out == [] and 4 <= len(parts) <= 7 and all(p.stat().st_size <= 10_000 for p in parts)
    here = tmp_path / "here"
    assert sorted(core.unpack(tmp_path / "out", here)) == ["results/x/blob", "results/x/table.csv"]
    assert (here / "results/x/blob").read_bytes() == (tmp_path / "results/x/blob").read_bytes()
    parts[1].unlink()  # a part that did not come back is named, not extracted as garbage
    with pytest.raises(GanStudyError, match="a part did not come back"):
        core.unpack(tmp_path / "out", tmp_path / "again")


def test_what_does_not_fit_a_return_waits_whole_for_the_next_call(tmp_path, monkeypatch):
    """The return of a call is limited in files (the status file among them) and in bytes: small files first,
    a file that does not fit is left out whole and goes first next time; files the call received are not sent
    back; files an earlier call returned fill what room is left."""
    monkeypatch.chdir(tmp_path)
    _files(tmp_path, {"results/s/committed.csv": 5_000})
    sent = core.signatures(["results"])
    _files(tmp_path, {"results/s/weights/a.pt": 30_000, "results/s/weights/b.pt": 30_000, "results/s/t.csv": 100})
    parts, taken, left_out = core.pack(["results/s"], tmp_path / "out", limit=20_000, max_parts=3, total=10**6,
                                       sent=sent)
    assert left_out == ["results/s/weights/b.pt"] and len(parts) <= 3  # 60,000 bytes of room less the margin
    assert taken == ["results/s/t.csv", "results/s/weights/a.pt"]  # smallest first
    returned = core.signatures(taken)
    assert sorted(core.unpack(tmp_path / "out", tmp_path / "here")) == sorted(taken)
    shutil.rmtree(tmp_path / "out")
    _, _, left_out = core.pack(["results/s"], tmp_path / "out", limit=20_000, max_parts=3, total=10**6, sent=sent,
                               returned=returned)
    assert left_out == [] and sorted(core.unpack(tmp_path / "out", tmp_path / "here2")) == [
        "results/s/t.csv", "results/s/weights/b.pt"]  # a.pt no longer fits beside b.pt: it came back already


def test_a_remote_call_returns_at_most_eight_files_within_its_limits():
    assert core.RETURN_FILES == 8 and core.RETURN_LIMIT == 16 * 2**20 and core.RETURN_TOTAL == 64 * 2**20
    defaults = core.pack.__defaults__
    assert defaults[:3] == (core.RETURN_LIMIT, core.RETURN_FILES - 1, core.RETURN_TOTAL - core.STATUS_ROOM)


def test_a_whole_remote_run_stops_at_its_deadline_and_the_next_call_finishes(repo_copy, tmp_path):
    shared = data_dir()
    weights = shared / "inception" / "weights-inception-2015-12-05-fid2048-nofc.pth"
    core.prepare(shared, weights, repo_copy / ".dev", wheels=False)
    (repo_copy / "longer.yaml").write_text("models: {mlp_gan: {epochs: 60, train_limit: 1000}}\n")
    target = "results/smoke/runs/mlp_gan/mnist/seed0/train.json"

    def call(deadline, out):
        return subprocess.run([sys.executable, "-m", "tools.remote_gpu", "run", "--bundles", ".dev", "--out", str(out),
                               "--deadline-s", str(deadline), "--profile", "workflows/profiles/smoke",
                               "--configfile", "longer.yaml", "--", target],
                              cwd=repo_copy, capture_output=True, text=True, timeout=2400,
                              env={**os.environ, "GAN_STUDY_DATA_DIR": "/nonexistent"})

    # A busy machine may reach the deadline before the first epoch's checkpoint: the deadline then grows until a
    # stopped call has left one (each call stopped cleanly, none finished).
    checkpoint = repo_copy / "work/smoke/runs/mlp_gan/mnist/seed0/checkpoint.pt"
    for deadline in (25, 45, 70):
        first = call(deadline, tmp_path / f"first{deadline}")
        status = json.loads((tmp_path / f"first{deadline}" / "run-status.json").read_text())
        assert first.returncode == 0 and status["steps"][-1]["outcome"] == "deadline" and not status["complete"], \
            first.stdout[-2000:] + first.stderr[-2000:]
        if checkpoint.is_file():
            break
    assert checkpoint.is_file()
    # A passing GPU graph check (as `--graph-check` leaves it on the machine) makes the study train from CUDA graphs;
    # on this CPU the trainer says it trains eagerly, which shows the setting reached it.
    verdict = repo_copy / "results" / "bench" / "graph-check-cuda.json"
    verdict.parent.mkdir(parents=True, exist_ok=True)
    verdict.write_text(json.dumps({"backend": "CudaGraphs", "passed": True,
                                   "models": [{"model": "mlp_gan", "passed": True}]}))
    (repo_copy / "work" / "remote-gpu").mkdir(parents=True, exist_ok=True)
    (repo_copy / "work" / "remote-gpu" / "graph-check.done").write_text(f"{verdict}\n")  # as if checked on this machine
    second = call(600, tmp_path / "out2")
    status = json.loads((tmp_path / "out2" / "run-status.json").read_text())
    assert status["complete"] and status["cuda_graphs"], second.stdout[-2000:] + second.stderr[-2000:]
    train_log = (repo_copy / "logs/smoke/train/mlp_gan/mnist/seed0.log").read_text()
    assert "cuda_graphs: the device is cpu, not a CUDA GPU" in train_log
    with tarfile.open(tmp_path / "out2" / "results.tar.gz") as tar:
        summary = json.load(tar.extractfile(target))
    assert summary["status"] == "completed" and len(summary["trained_by"]) == 2  # resumed, not restarted


def test_the_graph_verdict_needs_real_cuda_graphs_that_passed(tmp_path):
    path = tmp_path / "graph-check-cuda.json"
    models = [{"model": "mlp_gan", "passed": True}, {"model": "cgan", "passed": True},
              {"model": "dcgan", "passed": False}]
    assert core.graph_verdict(path, state=tmp_path) == []  # no check: eager
    path.write_text(json.dumps({"backend": "CudaGraphs", "passed": False, "models": models}))
    assert core.graph_verdict(path, state=tmp_path) == []  # a file not made on this machine (e.g. committed)
    (tmp_path / "graph-check.done").write_text("checked here\n")
    # Graphs for the models that agreed (as on the H200: the MLP nets did, the conv nets did not); none from a CPU.
    assert core.graph_verdict(path, state=tmp_path) == ["mlp_gan", "cgan"]
    path.write_text(json.dumps({"backend": "EagerReplay", "passed": True, "models": models[:1]}))
    assert core.graph_verdict(path, state=tmp_path) == []


def test_the_shipped_plan_orders_the_paper_study_by_value(tmp_path, monkeypatch):
    """Issue 13's order, with the longer budget after the cells that fit one call: Table 1 (MLP GAN, MNIST, 5 seeds,
    250 epochs) first, then cGAN on MNIST, then Fashion-MNIST, Gaussian noise, 20 seeds for the failure rate, then
    2,000 epochs, then the whole paper profile; every stage's config is valid."""
    monkeypatch.chdir(REPO)
    stages = core.plan_stages("tools/remote_gpu/plan-paper.yaml", overlay_dir=tmp_path)
    configs = [stage.config() for stage in stages]
    cells = [sorted((run["model"], d) for run in c["runs"] for d in run["datasets"]) for c in configs]
    assert cells[0] == [("mlp_gan", "mnist")] and configs[0]["study"] == "paper"
    assert configs[0]["models"]["mlp_gan"]["epochs"] == 250 and configs[0]["seeds"] == [0, 1, 2, 3, 4]
    assert cells[1] == [("cgan", "mnist"), ("mlp_gan", "mnist")]
    assert ("mlp_gan", "fashion_mnist") in cells[2] and ("cgan", "fashion_mnist") in cells[2]
    noise, failures = configs[3], configs[4]  # the noise the paper's model may have used; the failure rate
    assert noise["study"] == "paper-noise" and noise["models"]["mlp_gan"]["noise"] == "gaussian"
    assert noise["models"]["mlp_gan"]["epochs"] == 250 and cells[3] == [("mlp_gan", "mnist")]
    assert failures["study"] == "paper-failures" and len(failures["seeds"]) >= 20 and cells[4] == [("mlp_gan", "mnist")]
    weights = stages[5]  # Table 1's generators, retrained from the committed config and checked against its logs
    assert isinstance(weights, core.ReproduceStage) and configs[5]["study"] == "paper"
    assert weights.seeds == [0, 1, 2, 3, 4]
    # with the code of the commit that trained it, reading the config that code wrote
    assert weights.code == json.loads((REPO / "results/paper/runs/mlp_gan/mnist/seed0/train.json").read_text())[
        "provenance"]["git_commit"]
    assert weights.code_config.endswith(":results/paper/config.json")
    assert dataclasses.replace(weights, code=None).command(None)[3:] == [
        "reproduce", "--results-dir", "results/paper", "--model", "mlp_gan", "--dataset", "mnist", "--seeds", "0", "1",
        "2", "3", "4", "--work-dir", "work/paper-reproduced", "--publish"]
    assert configs[6]["study"] == "paper-long" and cells[6] == [("mlp_gan", "mnist")]
    assert configs[6]["models"]["mlp_gan"]["epochs"] == 2000 and configs[6]["snapshots"]["every_n_epochs"] == 50
    assert stages[-1].configfiles == [] and stages[-1].profile == "workflows/profiles/paper"  # the whole profile
    paper = [c for c, config, stage in zip(cells, configs, stages) if config["study"] == "paper" and
             isinstance(stage, core.Stage)]
    assert all(set(a) < set(b) for a, b in zip(paper, paper[1:]))  # each stage adds cells, none drops a finished one


def test_a_remote_run_goes_through_its_stages_in_order_and_stops_at_the_deadline(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(core, "STATE", tmp_path / "remote-gpu")
    monkeypatch.setattr(core, "unfinished_runs", lambda config, root: config["runs"])  # as if nothing committed
    stages = core.plan_stages("tools/remote_gpu/plan-paper.yaml", overlay_dir=tmp_path)
    ran = []

    def fake_run_until(cmd, deadline_s, env=None):
        ran.append(cmd)
        return ("deadline", -2, deadline_s) if len(ran) == 5 else ("finished", 0, 1.0)

    monkeypatch.setattr(core, "restore", lambda bundles, dest, weights=True: (tmp_path, tmp_path / "w.pth", []))
    monkeypatch.setattr(core, "run_until", fake_run_until)
    monkeypatch.setattr(core.subprocess, "run", lambda *a, **k: None)  # the --unlock calls

    def fake_pack(paths, out, **kw):
        ran.append(paths)
        out.mkdir(parents=True)
        return [], [], []

    monkeypatch.setattr(core, "pack", fake_pack)
    record = core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, bench=True, graph_check=True,
                             gpu_jobs=4)
    bench, check, stack, long_check, table1, packed = ran
    assert bench[bench.index("gan_study") + 1:] == ["bench", "--steps", "200", "--warmup", "20"]
    assert stack[stack.index("gan_study") + 1:] == ["bench-stack", "--steps", "200", "--warmup", "20", "--compile"]
    assert check[check.index("graph-check"):] == ["graph-check", "--models", "mlp_gan", "cgan", "dcgan", "wgan",
                                                 "wgan_gp"]
    # Table 1's cell over its first 10 epochs (500 minibatches each), per seed: where graphed and eager part.
    assert long_check[long_check.index("graph-check"):] == ["graph-check", "--models", "mlp_gan", "--steps", "5000",
                                                           "--tag", "table1-10-epochs", "--report-only"]
    assert "workflows/profiles/paper" in table1 and str(tmp_path / "plan-paper-stage1.yaml") in table1
    assert not any("cuda_graphs" in arg for arg in table1)  # no passing GPU check on this machine
    assert table1[table1.index("--resources"):][:2] == ["--resources", "gpu=4"]  # the profile's gpu=1, raised
    assert [s["step"] for s in record["steps"]] == ["bench", "graph-check", "bench-stack", "graph-check-long",
                                                    stages[0].name]
    assert not record["complete"]
    studies = ["paper", "paper-noise", "paper-failures", "paper-long"]
    assert packed == [f"results/{s}" for s in studies] + ["results/bench"] + [f"logs/{s}" for s in studies]


def test_a_reproduce_stage_is_done_once_its_cell_is_retrained_or_published(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stage = core.ReproduceStage("weights", "results/paper", "mlp_gan", "mnist", [0, 1])
    (tmp_path / "results" / "paper" / "weights").mkdir(parents=True)
    assert stage.command(None)[3] == "reproduce"
    manifest = tmp_path / "results" / "paper" / "weights" / "weights.json"
    manifest.write_text(json.dumps({"weights": [{"model": "mlp_gan", "dataset": "mnist", "seed": s} for s in (0,)]}))
    assert stage.command(None) is not None  # seed 1 not published yet
    manifest.write_text(json.dumps({"weights": [{"model": "mlp_gan", "dataset": "mnist", "seed": s} for s in (0, 1)]}))
    assert stage.command(None) is None
    manifest.unlink()
    (tmp_path / "results" / "paper" / "reproduced-mlp_gan-mnist.json").write_text("{}")  # retrained, none identical
    assert stage.command(None) is None


def test_a_reproduce_stage_retrains_publishes_and_sends_back_the_weights(committed, tmp_path, monkeypatch):
    """Rehearsal of the plan's weights stage on a CPU: a committed tiny study (checkpoints gone) retrained by the
    real command in a remote run, its generators published and packed; here, unpacking brings back the weights, the
    manifest and the report, and none of the committed files the call received."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(core, "STATE", tmp_path / "work" / "remote-gpu")
    monkeypatch.setattr(core, "restore", lambda bundles, dest, weights=True: (data_dir(), None, []))
    stage = core.ReproduceStage("weights", "results/tiny", "mlp_gan", "mnist", [0, 1])
    record = core.remote_run(tmp_path / "bundles", tmp_path / "out", 600, [stage])
    assert record["complete"] and record["not_returned"] == [], record
    here = tmp_path / "here"
    names = core.unpack(tmp_path / "out", here)
    assert sorted(n for n in names if n.startswith("results/tiny/")) == [
        "results/tiny/methods.tex",  # rewritten from the tables' config by every run
        "results/tiny/reproduced-mlp_gan-mnist.json", "results/tiny/weights/mlp_gan-mnist-seed0-final.pt",
        "results/tiny/weights/mlp_gan-mnist-seed1-final.pt", "results/tiny/weights/weights.json"]
    manifest = json.loads((here / "results/tiny/weights/weights.json").read_text())
    assert [e["retrained_log"] for e in manifest["weights"]] == [
        "identical to the committed training log, row for row"] * 2
    assert stage.command(None) is None  # done: the next call skips it
    second = core.remote_run(tmp_path / "bundles", tmp_path / "out2", 600, [stage])
    assert second["steps"][0]["outcome"] == "already finished"


def test_a_plan_naming_a_missing_profile_is_refused(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("stages:\n  - {name: x, profile: workflows/profiles/nope}\n")
    with pytest.raises(GanStudyError, match="stage 1 names profile workflows/profiles/nope, which has no config.yaml"):
        core.plan_stages(plan, overlay_dir=tmp_path)


def test_bench_and_graph_check_run_once_per_machine(tmp_path, monkeypatch):
    """A repeated call skips the checks this machine already made, but not a result committed from elsewhere."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "bench").mkdir(parents=True)
    core.GRAPH_CHECK.write_text(json.dumps({"backend": "CudaGraphs", "passed": True,  # e.g. committed earlier
                                             "models": [{"model": "mlp_gan", "passed": True}]}))
    os.utime(core.GRAPH_CHECK, (1_000_000, 1_000_000))  # a committed file is older than this call
    stages = [core.Stage("study", str(REPO / "workflows" / "profiles" / "smoke"))]
    ran = []

    def fake_run_until(cmd, deadline_s, env=None):
        ran.append("graph-check-long" if "--report-only" in cmd else
                   next((name for name in ("bench", "bench-stack", "graph-check") if name in cmd), "study"))
        if ran[-1] in ("bench", "bench-stack", "graph-check-long"):
            core.ONCE_PER_MACHINE[ran[-1]].write_text("{}")
        return "finished", 0, 1.0

    monkeypatch.setattr(core, "restore", lambda bundles, dest, weights=True: (tmp_path, tmp_path / "w.pth", []))
    monkeypatch.setattr(core, "run_until", fake_run_until)
    monkeypatch.setattr(core.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(core, "pack", lambda paths, out, **kw: (out.mkdir(parents=True, exist_ok=True), [], [], [])[1:])
    first = core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, bench=True, graph_check=True)
    # The graph check "ran" but wrote nothing: the committed verdict is not this machine's, so no graphs.
    assert ran == ["bench", "graph-check", "bench-stack", "graph-check-long", "study"] and not first["cuda_graphs"]
    ran.clear()
    core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, bench=True, graph_check=True)
    assert ran == ["graph-check", "study"]  # the benchmarks done here already; the graph check, which wrote nothing, again


def test_the_checks_can_run_before_the_weights_arrive(tmp_path, monkeypatch):
    """`--checks-only` (bench, graph-check) needs the data and the wheels alone: an earlier call runs them while the
    weight parts are still on their way; the study and the FID need the weights, which are then checked."""
    weights = tmp_path / "w.pth"
    weights.write_bytes(os.urandom(3000))
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"x" * 100)
    core.prepare(tmp_path / "data", weights, tmp_path / "dev", wheels=False, limit=1000)
    for part in (tmp_path / "dev").glob("w*/*.part*"):
        part.unlink()
    data_dir, rebuilt, _ = core.restore(tmp_path / "dev", tmp_path / "there", weights=False)
    assert rebuilt is None and (data_dir / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == b"x" * 100
    with pytest.raises(GanStudyError, match=r"bundled file w1/w.pth.part00 is missing"):
        core.restore(tmp_path / "dev", tmp_path / "there")

    monkeypatch.chdir(tmp_path)
    ran, packed = [], []
    monkeypatch.setattr(core, "run_until", lambda cmd, deadline_s, env=None: ran.append(cmd) or ("finished", 0, 1.0))
    monkeypatch.setattr(core, "pack",
                        lambda paths, out, **kw: (packed.extend(paths), out.mkdir(parents=True), [], [], [])[2:])
    stages = [core.Stage("study", str(REPO / "workflows" / "profiles" / "smoke"))]
    core.remote_run(tmp_path / "dev", tmp_path / "out", 100, stages, bench=True, graph_check=True, checks_only=True,
                    site=tmp_path / "site")
    assert len(ran) == 4 and "bench" in ran[0] and "graph-check" in ran[1] and "bench-stack" in ran[2]  # no Snakemake
    assert "--report-only" in ran[3]
    assert packed == ["results/bench"]


def test_without_the_fid_weights_the_stages_that_need_no_fid_run_and_the_others_are_named(tmp_path, monkeypatch):
    """Before the Inception weights' parts have been sent, a call still trains what needs no FID: of the paper plan,
    the failure-rate study (FID off) and Table 1's generators; the rest are named in run-status.json."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(core, "STATE", tmp_path / "remote-gpu")
    monkeypatch.setattr(core, "unfinished_runs", lambda config, root: config["runs"])
    stages = core.plan_stages("tools/remote_gpu/plan-paper.yaml", overlay_dir=tmp_path)
    monkeypatch.setattr(core, "restore", lambda bundles, dest, weights=True: (tmp_path, None, []) if not weights
                        else pytest.fail("the weights were asked for"))
    ran = []
    monkeypatch.setattr(core, "run_until", lambda cmd, deadline_s, env=None: ran.append(cmd) or ("finished", 0, 1.0))
    monkeypatch.setattr(core.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(core.ReproduceStage, "command", lambda self, env, gpu_jobs=None: ["reproduce", self.name])
    monkeypatch.setattr(core, "pack", lambda paths, out, **kw: (out.mkdir(parents=True), [], [], [])[1:])
    (tmp_path / "bundles" / "d1").mkdir(parents=True)  # as `prepare --without-fid-weights --datasets mnist` cuts
    (tmp_path / "bundles" / "d1" / core.MANIFEST).write_text(json.dumps({"datasets": ["mnist"], "weights": None}))
    record = core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, fid_weights=False)
    names = [step["step"] for step in record["steps"]]
    assert names == [stages[4].name, stages[5].name]  # the failure rate, Table 1's generators
    assert record["skipped_without_fid_weights"] == [s.name for i, s in enumerate(stages) if i not in (4, 5)]
    assert record["skipped_without_data"] == {}  # both train on MNIST: `prepare --datasets mnist` is enough
    assert not record["complete"] and json.loads((tmp_path / "out" / "run-status.json").read_text()) == record


def test_a_run_starts_on_an_image_without_jsonschema(tmp_path):
    """The remote image lacks jsonschema until the bundled wheels are installed: `run` must get as far as the bundles
    without validating a config (here it stops at the missing manifest, one clear line)."""
    (tmp_path / "jsonschema.py").write_text("raise ImportError('not on the remote image')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    run = subprocess.run([sys.executable, "-m", "tools.remote_gpu", "run", "--bundles", str(tmp_path / "none"),
                          "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.strip().endswith("is missing: send bundle d1 first (it holds the manifest)")


def test_what_a_call_made_outlives_the_next_calls_fresh_tree(tmp_path, monkeypatch):
    """Each call re-sends the working tree, so results/ written by the last call may be gone; `run` keeps a copy
    in work/remote-gpu (ignored, kept while the machine is warm) and puts back what is missing, with its times."""
    monkeypatch.chdir(tmp_path)
    stages = [core.Stage("study", str(REPO / "workflows" / "profiles" / "smoke"))]
    seen = []

    def fake_run_until(cmd, deadline_s, env=None):
        if "graph-check" in cmd:
            core.GRAPH_CHECK.parent.mkdir(parents=True, exist_ok=True)
            core.GRAPH_CHECK.write_text(json.dumps({"backend": "CudaGraphs", "passed": False, "models": [
                {"model": "mlp_gan", "passed": True}, {"model": "dcgan", "passed": False}]}))
        elif "snakemake" in cmd:
            seen.append(("cuda_graphs=[mlp_gan]" in cmd, [(str(p), p.stat().st_mtime) for p in
                                                    sorted((tmp_path / "results").rglob("*.csv"))]))
            (tmp_path / "results" / "smoke").mkdir(parents=True, exist_ok=True)
            (tmp_path / "results" / "smoke" / "made.csv").write_text("1\n")
        return "finished", 0, 1.0

    monkeypatch.setattr(core, "restore", lambda bundles, dest, weights=True: (tmp_path, tmp_path / "w.pth", []))
    monkeypatch.setattr(core, "run_until", fake_run_until)
    monkeypatch.setattr(core.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(core, "pack", lambda paths, out, **kw: (out.mkdir(parents=True, exist_ok=True), [], [], [])[1:])
    core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, graph_check=True)
    made = tmp_path / "results" / "smoke" / "made.csv"
    os.utime(made, (1_000_000, 1_000_000))
    core.keep_results(["results/smoke"])
    shutil.rmtree(tmp_path / "results")  # the next call's fresh copy of the tree
    core.remote_run(tmp_path / "bundles", tmp_path / "out", 100, stages, graph_check=True)
    # The verdict and the study's results (with their times) were back before Snakemake ran.
    assert seen[1] == (True, [(str(made), 1_000_000)])


def test_rule_times_are_read_from_a_snakemake_log(tmp_path):
    log = """Building DAG of jobs...
[Fri Nov 27 00:38:27 2026]
localrule train_seeds:
    jobid: 3
    wildcards: model=mlp_gan, dataset=mnist
[Fri Nov 27 00:38:27 2026]
localrule methods:
    jobid: 20
[Fri Nov 27 00:38:32 2026]
Finished jobid: 20 (Rule: methods)
[Fri Nov 27 00:43:45 2026]
Finished jobid: 3 (Rule: train_seeds)
Building DAG of jobs...
[Fri Nov 27 00:45:52 2026]
localrule methods:
    jobid: 3
[Fri Nov 27 00:45:56 2026]
Error in rule methods:
    jobid: 7
    wildcards: model=cgan
"""
    jobs = snakemake_job_times(log)
    assert [(j["snakemake_run"], j["rule"], j["wildcards"], j["jobid"], j["seconds"]) for j in jobs] == [
        (1, "train_seeds", "model=mlp_gan, dataset=mnist", 3, 318.0), (1, "methods", "", 20, 5.0),
        (2, "methods", "", 3, None)]  # jobids restart per run; the failed job has no time
    (tmp_path / "empty.log").write_text("nothing\n")
    run = subprocess.run([sys.executable, "-m", "tools.remote_gpu", "rule-times", "--log", str(tmp_path / "empty.log"),
                          "--out", str(tmp_path / "t.csv")], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "holds no Snakemake jobs" in run.stderr and not (tmp_path / "t.csv").exists()


def test_a_misread_commit_is_restated_everywhere_and_logged(tmp_path):
    from tools.remote_gpu.restate import restate_commit

    old, new, other = "9e3d4517a195a72362aea55d014c0ac71e031c51", "3200b13e12ed91799b4d1174bf1887336a2f561a", "a" * 40
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "train.json").write_text(json.dumps(
        {"provenance": {"git_commit": old, "git_dirty": True}, "trained_by": [{"git_commit": old, "git_dirty": True}],
         "git": {"git_commit": other, "git_dirty": True}}))
    (tmp_path / "runs.csv").write_text(f"seed,git_commit,git_dirty,eval_git_commit,eval_git_dirty,x\n"
                                       f"0,{old},True,{old},True,1.25\n1,{other},True,{old},True,2\n")
    (tmp_path / "provenance.tex").write_text(f"a & {old[:10]}+dirty \\\\\n\\newcommand{{\\gsGitCommit}}{{{old[:10]}}}\n")
    changed = restate_commit(tmp_path, old, new, "the machine's .git was older than the tree sent")
    assert changed == ["provenance.tex", "runs/train.json", "runs.csv"]
    train = json.loads((tmp_path / "runs" / "train.json").read_text())
    assert train["provenance"] == {"git_commit": new, "git_dirty": False} == train["trained_by"][0]
    assert train["git"] == {"git_commit": other, "git_dirty": True}  # another commit's record is left alone
    assert (tmp_path / "runs.csv").read_text() == (f"seed,git_commit,git_dirty,eval_git_commit,eval_git_dirty,x\n"
                                                   f"0,{new},False,{new},False,1.25\n1,{other},True,{new},False,2\n")
    assert (tmp_path / "provenance.tex").read_text() == f"a & {new[:10]} \\\\\n\\newcommand{{\\gsGitCommit}}{{{new[:10]}}}\n"
    log = json.loads((tmp_path / "provenance-corrections.json").read_text())
    assert log[0]["recorded"] == old and log[0]["sent"] == new and log[0]["files"] == changed


def test_a_stage_cut_off_leaves_methods_that_describe_the_tables(tmp_path, monkeypatch):
    """The H200 run's cGAN stage rewrote results/paper/methods.tex, then hit the deadline: the methods must be
    those of the tables' config (written by the last finished aggregate)."""
    from gan_study.config import load_config
    from gan_study.provenance import config_hash

    monkeypatch.chdir(tmp_path)
    study = tmp_path / "results" / "paper"
    study.mkdir(parents=True)
    config = load_config(REPO / "workflows" / "studies" / "smoke.yaml")
    (study / "config.json").write_text(json.dumps(config))
    (study / "methods.tex").write_text("a later stage's methods\n")
    core._methods_match_tables(["paper"], {**os.environ, "PYTHONPATH": str(REPO)})
    assert f"config hash \\texttt{{{config_hash(config)}}}" in (study / "methods.tex").read_text()


def test_a_plan_stage_trains_only_the_cells_not_finished_yet(tmp_path, monkeypatch):
    """A new machine has no checkpoints: a plan stage whose cells are committed must not train them again (the
    H200 run's Table 1 took 7.3 of its minutes); a later stage trains only what it adds."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(core, "STATE", tmp_path / "remote-gpu")
    monkeypatch.setattr(core.subprocess, "run", lambda *a, **k: None)
    results = tmp_path / "results"
    finish_runs(results, "mlp_gan", "mnist")
    finish_runs(results, "cgan", "mnist", seeds=range(4))  # a seed short: not finished
    finish_runs(results, "mlp_gan", "fashion_mnist", names=("train.json", "parzen.json"))  # no FID yet: not finished
    monkeypatch.setattr(core, "RESULTS_ROOT", results)
    stages = core.plan_stages("tools/remote_gpu/plan-paper.yaml", overlay_dir=tmp_path)
    assert stages[0].command({}) is None  # Table 1: all five seeds finished
    cgan = stages[1].command({})
    overlay = json.loads(Path(cgan[cgan.index("--configfile") + 3]).read_text())
    assert overlay == {"runs": [{"model": "cgan", "datasets": ["mnist"]}]}
    fashion = stages[2].command({})
    overlay = json.loads(Path(fashion[fashion.index("--configfile") + 3]).read_text())
    assert overlay["runs"] == [{"model": "mlp_gan", "datasets": ["fashion_mnist"]},
                               {"model": "cgan", "datasets": ["mnist", "fashion_mnist"]}]


