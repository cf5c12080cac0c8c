# Train one (model, dataset, seed) run. The resumable checkpoint lives in WORK/…/checkpoint.pt: re-running
# after a kill resumes from it.


rule train:
    output:
        final=f"{WORK}/runs/{RUN}/final.pt",
        log_csv=f"{RESULTS}/runs/{RUN}/train_log.csv",
        summary=f"{RESULTS}/runs/{RUN}/train.json",
    params:
        cli=GAN_STUDY,
        work_dir=f"{WORK}/runs/{RUN}",
        model_config=lambda w: config_digest("models", w.model),
    log:
        f"{LOGS}/train/{RUN}.log",
    threads: 2
    resources:
        gpu=USES_GPU,
    conda:
        "../envs/gan_study.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} train --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --work-dir {params.work_dir} --final {output.final} "
        "--log-csv {output.log_csv} --summary {output.summary} > {log} 2>&1"
