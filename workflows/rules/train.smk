# Training. The resumable checkpoint lives in WORK (not a Snakemake output): re-running after a kill resumes.
# One job per (model, dataset, seed) by default; with `batch_seeds: true` one job per (model, dataset) trains
# all seeds as one batched model and writes the same per-seed files, so the rest of the DAG is unchanged.

if config["batch_seeds"]:

    rule train_seeds:
        input:
            data=data_files,
        output:
            final=expand(f"{WORK}/runs/{{model}}/{{dataset}}/seed{{seed}}/final.pt", seed=SEEDS, allow_missing=True),
            log_csv=expand(
                f"{RESULTS}/runs/{{model}}/{{dataset}}/seed{{seed}}/train_log.csv", seed=SEEDS, allow_missing=True
            ),
            summary=expand(
                f"{RESULTS}/runs/{{model}}/{{dataset}}/seed{{seed}}/train.json", seed=SEEDS, allow_missing=True
            ),
        log:
            f"{LOGS}/train/{{model}}/{{dataset}}/batched.log",
        benchmark:
            f"{LOGS}/benchmarks/train/{{model}}/{{dataset}}/batched.tsv"
        conda:
            "../envs/gan_study.yaml"
        threads: 2
        resources:
            gpu=USES_GPU,
            mem_mb=MEM_MB["train"],
            runtime=RUNTIME_MIN["train"],
        params:
            cli=GAN_STUDY,
            seeds=" ".join(map(str, SEEDS)),
            work_dir=f"{WORK}/runs/{{model}}/{{dataset}}/batched-seeds{'-'.join(map(str, SEEDS))}",
            model_config=lambda w: config_digest("models", w.model) + config_digest("snapshots"),
        shell:
            "OMP_NUM_THREADS={threads} {params.cli} train-seeds --model {wildcards.model} "
            "--dataset {wildcards.dataset} --seeds {params.seeds} --work-dir {params.work_dir} "
            "--final {output.final} --log-csv {output.log_csv} --summary {output.summary} > {log} 2>&1"

else:

    rule train:
        input:
            data=data_files,
        output:
            final=f"{WORK}/runs/{RUN}/final.pt",
            log_csv=f"{RESULTS}/runs/{RUN}/train_log.csv",
            summary=f"{RESULTS}/runs/{RUN}/train.json",
        log:
            f"{LOGS}/train/{RUN}.log",
        benchmark:
            f"{LOGS}/benchmarks/train/{RUN}.tsv"
        conda:
            "../envs/gan_study.yaml"
        threads: 2
        resources:
            gpu=USES_GPU,
            mem_mb=MEM_MB["train"],
            runtime=RUNTIME_MIN["train"],
        params:
            cli=GAN_STUDY,
            work_dir=f"{WORK}/runs/{RUN}",
            model_config=lambda w: config_digest("models", w.model) + config_digest("snapshots"),
        shell:
            "OMP_NUM_THREADS={threads} {params.cli} train --model {wildcards.model} --dataset {wildcards.dataset} "
            "--seed {wildcards.seed} --work-dir {params.work_dir} --final {output.final} "
            "--log-csv {output.log_csv} --summary {output.summary} > {log} 2>&1"
