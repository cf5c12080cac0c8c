"""The study through a real SLURM: a one-node cluster on this machine (tests/slurm/cluster.sh), jobs submitted by
Snakemake's SLURM executor plugin with the repository's slurm profile. Needs Debian's slurm-wlm and munge, which
.ci/run installs; elsewhere the module is skipped with one line saying so."""

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO, data_dir

HAVE_SLURM = shutil.which("slurmctld") is not None and shutil.which("munged") is not None and os.geteuid() == 0
if not HAVE_SLURM and os.environ.get("GAN_STUDY_REQUIRE_SLURM"):
    raise RuntimeError("GAN_STUDY_REQUIRE_SLURM is set but slurm-wlm/munge are missing or this is not root")
pytestmark = pytest.mark.skipif(not HAVE_SLURM,
                                reason="SLURM is not installed here (as root: apt-get install slurm-wlm munge; CI does)")

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
TARGET = "results/smoke/tables/table1.tex"
# A cheap subset of the smoke study that still ends in a Parzen table: the MLP GAN on MNIST, two seeds, without FID.
SUBSET = "runs: [{model: mlp_gan, datasets: [mnist]}]\nfid: {enabled: false}\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    subprocess.run([str(CLUSTER), "start", str(state)], check=True, timeout=120)
    env = {**os.environ, "GAN_STUDY_DATA_DIR": str(data_dir()),
           "GAN_STUDY_SLURM_ACCOUNT": "ganstudy", "GAN_STUDY_SLURM_PARTITION": "cpu",
           "GAN_STUDY_SLURM_GPU_PARTITION": "gpu"}
    yield env
    subprocess.run([str(CLUSTER), "stop", str(state)], timeout=60)


def snakemake(repo, env, *args, timeout):
    # A hard timeout: if the plugin's status query ever hangs, the test fails instead of waiting forever.
    (repo / "subset.yaml").write_text(SUBSET)
    return subprocess.run(["timeout", "-s", "KILL", str(timeout), "snakemake", "--profile", "workflows/profiles/slurm",
                           "--configfile", "workflows/studies/smoke.yaml", "subset.yaml", *args],
                          cwd=repo, env=env, capture_output=True, text=True)


def profile_resources():
    """The profile's set-resources as command-line values: a --set-resources on the command line replaces the
    profile's list instead of adding to it."""
    import yaml

    profile = yaml.safe_load((REPO / "workflows" / "profiles" / "slurm" / "config.yaml").read_text())
    return [f"{rule}:{key}={value}" for rule, values in profile["set-resources"].items() for key, value in values.items()]


def test_a_small_study_runs_through_sbatch(cluster, repo_copy):
    done = snakemake(repo_copy, cluster, "--slurm-status-command", "squeue",
                     "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
                     "--set-resources", *profile_resources(), "train:gpu=1", "--", TARGET, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (repo_copy / TARGET).is_file() and "MLP GAN (2014), this study" in (repo_copy / TARGET).read_text()
    # The jobs went through SLURM: the controller knows each one, and the rule Snakemake named in its comment.
    ids = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i"], env=cluster, capture_output=True, text=True,
                         check=True).stdout.split()
    jobs = []
    for job_id in ids:
        fields = dict(f.split("=", 1) for f in subprocess.run(["scontrol", "show", "job", "-o", job_id], env=cluster,
                                                               capture_output=True, text=True, check=True)
                      .stdout.split() if "=" in f)
        jobs.append(f"{job_id} {fields['Partition']} {fields['Comment']} {fields.get('TresPerJob', '-')} "
                    f"{fields['JobState']}")
    rules = {line.split()[2].split("_wildcards")[0] for line in jobs}
    assert {"rule_train", "rule_sample", "rule_parzen", "rule_parzen_curve", "rule_aggregate"} <= rules, jobs
    assert all(line.split()[4] == "COMPLETED" for line in jobs), jobs
    # Training asked for a GPU (`gpu=1` → sbatch --gpus=1) and ran on the GPU partition; aggregation on the CPU one.
    train = [line.split() for line in jobs if "rule_train_" in line]
    assert len(train) == 2 and all(job[1] == "gpu" and job[3] == "gres:gpu:1" for job in train), train
    assert all(line.split()[1] == "cpu" for line in jobs if "rule_aggregate" in line)
    print("\n".join(["SLURM jobs (id partition comment tres-per-job state):", *jobs]))


def test_the_paper_profile_plans_gpu_jobs_under_slurm(cluster, repo_copy):
    done = subprocess.run(["snakemake", "-n", "--profile", "workflows/profiles/slurm", "--configfile",
                           "workflows/studies/paper.yaml"], cwd=repo_copy, env=cluster, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    blocks = done.stdout.split("\n\n")
    train = [b for b in blocks if "rule train_seeds:" in b]
    report = [b for b in blocks if "rule report:" in b]
    assert train and all("gpu=1" in b and "slurm_partition=gpu" in b for b in train), train[:1]
    assert report and "gpu=1" not in report[0] and "slurm_partition=cpu" in report[0], report
