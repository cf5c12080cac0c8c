"""Per-job wall times (rule, wildcards, seconds) read from a Snakemake console log, e.g. a remote run's."""

import re
import time
from pathlib import Path

from gan_study.errors import GanStudyError

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def snakemake_job_times(log_text):
    """Per job of a Snakemake console log (several runs in a row allowed): rule, wildcards, start, end, seconds.
    Jobs that never finished (a deadline) have no end."""
    jobs, run, stamp, current = [], 0, None, None
    for line in log_text.splitlines():
        if line.startswith("Building DAG of jobs"):
            run += 1
        elif match := _STAMP.match(line.strip()):
            stamp, current = time.mktime(time.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")), None
        elif match := re.match(r"^(?:local)?rule (\w+):$", line):
            current = {"snakemake_run": run, "rule": match.group(1), "wildcards": "", "started": stamp}
            jobs.append(current)
        elif current is not None and (match := re.match(r"^\s+jobid: (\d+)$", line)):
            current["jobid"] = int(match.group(1))
        elif current is not None and (match := re.match(r"^\s+wildcards: (.*)$", line)):
            current["wildcards"] = match.group(1)
        elif match := re.match(r"^Finished jobid: (\d+)", line):
            for job in jobs:
                if job["snakemake_run"] == run and job.get("jobid") == int(match.group(1)):
                    job["seconds"] = stamp - job["started"]
    return [{**job, "seconds": job.get("seconds")} for job in jobs]


def write_rule_times(log, out):
    """One CSV row per job of the Snakemake console log `log`: its run, rule, wildcards, job id and seconds."""
    import pandas as pd

    from gan_study.atomic import write_csv

    rows = snakemake_job_times(Path(log).read_text())
    if not rows:
        raise GanStudyError(f"{log} holds no Snakemake jobs; give the console log of a Snakemake run")
    write_csv(out, pd.DataFrame(rows)[["snakemake_run", "rule", "wildcards", "jobid", "seconds"]])
    return rows
