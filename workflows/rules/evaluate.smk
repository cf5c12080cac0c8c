# Sample each trained generator, and score it with every registered metric (gan_study/metrics: one rule each).


rule sample:
    input:
        data=data_files,
        final=f"{WORK}/runs/{RUN}/final.pt",
    output:
        samples=f"{WORK}/runs/{RUN}/samples.pt",
        grid=f"{RESULTS}/runs/{RUN}/samples.png",
        nearest=f"{RESULTS}/runs/{RUN}/nearest.png",
        interpolation=f"{RESULTS}/runs/{RUN}/interpolation.png",
    log:
        f"{LOGS}/sample/{RUN}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 1
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["evaluate"],
        runtime=RUNTIME_MIN["evaluate"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("models", w.model)
        + sampling_digest(w.model)
        + config_digest("parzen")
        + config_digest("fid")
        + config_digest("report"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} sample --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --final {input.final} --samples {output.samples} --grid {output.grid} "
        "--nearest {output.nearest} --interpolation {output.interpolation} > {log} 2>&1"


rule parzen_baselines:
    input:
        data=data_files,
    output:
        f"{RESULTS}/parzen_baselines/{{dataset}}.json",
    log:
        f"{LOGS}/parzen_baselines/{{dataset}}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["evaluate"],
        runtime=RUNTIME_MIN["evaluate"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("parzen") + config_digest("parzen_baselines"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} parzen-baselines --dataset {wildcards.dataset} --out {output} > {log} 2>&1"


rule fid_reference:
    input:
        data=data_files,
    output:
        f"{RESULTS}/fid_reference/{{dataset}}.json",
    log:
        f"{LOGS}/fid_reference/{{dataset}}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["fid"],
        runtime=RUNTIME_MIN["fid"],
    params:
        cli=GAN_STUDY,
        cache_dir=f"{WORK}/fidelity_cache",
        settings=lambda w: config_digest("fid"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} fid-reference --dataset {wildcards.dataset} "
        "--cache-dir {params.cache_dir} --out {output} > {log} 2>&1"


# One rule per registered metric: its per-run file from the files it declares, by its command. The shell line names
# no loop variable: Snakemake evaluates it again when the job runs, when `metric` is the last one of the loop.
for metric in METRICS:

    rule:
        name:
            metric.name
        input:
            **metric_inputs(metric),
            data=data_files,
        output:
            f"{RESULTS}/runs/{RUN}/{metric.file}",
        log:
            f"{LOGS}/{metric.name}/{RUN}.log",
        conda:
            "../envs/gan_study.yaml"
        threads: metric.threads
        resources:
            gpu=USES_GPU,
            mem_mb=MEM_MB[metric.resources],
            runtime=RUNTIME_MIN[metric.resources],
        params:
            cli=GAN_STUDY,
            command=metric.command,
            options=metric.options,
            settings=config_digest(*(metric.settings or (metric.section,))),
            sampling=lambda w: sampling_digest(w.model),  # a curve samples the run's snapshots itself
        shell:
            "OMP_NUM_THREADS={threads} {params.cli} {params.command} --model {wildcards.model} --dataset {wildcards.dataset} "
            "--seed {wildcards.seed} {params.options} --out {output} > {log} 2>&1"
