# Sample each trained generator and score it with the paper's Parzen-window protocol.


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
        + config_digest("parzen")
        + config_digest("fid")
        + config_digest("report"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} sample --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --final {input.final} --samples {output.samples} --grid {output.grid} "
        "--nearest {output.nearest} --interpolation {output.interpolation} > {log} 2>&1"


rule parzen:
    input:
        data=data_files,
        samples=f"{WORK}/runs/{RUN}/samples.pt",
    output:
        f"{RESULTS}/runs/{RUN}/parzen.json",
    log:
        f"{LOGS}/parzen/{RUN}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["evaluate"],
        runtime=RUNTIME_MIN["evaluate"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("parzen"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} parzen --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --samples {input.samples} --out {output} > {log} 2>&1"


rule parzen_curve:
    input:
        data=data_files,
        train=f"{RESULTS}/runs/{RUN}/train.json",
        parzen=f"{RESULTS}/runs/{RUN}/parzen.json",
    output:
        f"{RESULTS}/runs/{RUN}/parzen_curve.json",
    log:
        f"{LOGS}/parzen_curve/{RUN}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["evaluate"],
        runtime=RUNTIME_MIN["evaluate"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("parzen"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} parzen-curve --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --train {input.train} --parzen {input.parzen} --out {output} > {log} 2>&1"


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


rule fid:
    input:
        data=data_files,
        samples=f"{WORK}/runs/{RUN}/samples.pt",
        reference=f"{RESULTS}/fid_reference/{{dataset}}.json",
    output:
        f"{RESULTS}/runs/{RUN}/fid.json",
    log:
        f"{LOGS}/fid/{RUN}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["fid"],
        runtime=RUNTIME_MIN["fid"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("fid"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} fid --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --samples {input.samples} --reference {input.reference} --out {output} > {log} 2>&1"


rule fid_curve:
    input:
        data=data_files,
        train=f"{RESULTS}/runs/{RUN}/train.json",
        fid=f"{RESULTS}/runs/{RUN}/fid.json",
        reference=f"{RESULTS}/fid_reference/{{dataset}}.json",
    output:
        f"{RESULTS}/runs/{RUN}/fid_curve.json",
    log:
        f"{LOGS}/fid_curve/{RUN}.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 2
    resources:
        gpu=USES_GPU,
        mem_mb=MEM_MB["fid"],
        runtime=RUNTIME_MIN["fid"],
    params:
        cli=GAN_STUDY,
        settings=lambda w: config_digest("fid"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} fid-curve --model {wildcards.model} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --train {input.train} --fid {input.fid} --reference {input.reference} "
        "--out {output} > {log} 2>&1"
