"""Correcting the commit a results dir records, when the machine that made the files misread it (a copy of the
working tree whose .git, if any, is not the tree that was sent)."""

import json
from pathlib import Path

from gan_study.provenance import now

def _restate(obj, recorded, sent):
    """`obj` (parsed JSON) with every git_commit / eval_git_commit equal to `recorded` set to `sent`, clean."""
    if isinstance(obj, list):
        return [_restate(item, recorded, sent) for item in obj]
    if not isinstance(obj, dict):
        return obj
    obj = {key: _restate(value, recorded, sent) for key, value in obj.items()}
    for prefix in ("", "eval_"):
        if obj.get(f"{prefix}git_commit") == recorded:
            obj[f"{prefix}git_commit"] = sent
            if f"{prefix}git_dirty" in obj:
                obj[f"{prefix}git_dirty"] = False
    return obj


def _restate_csv(path, recorded, sent):
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, changed = rows[0], False
    for prefix in ("", "eval_"):
        if f"{prefix}git_commit" in header:
            commit = header.index(f"{prefix}git_commit")
            dirty = header.index(f"{prefix}git_dirty") if f"{prefix}git_dirty" in header else None
            for row in rows[1:]:
                if row[commit] == recorded:
                    row[commit], changed = sent, True
                    if dirty is not None:
                        row[dirty] = "False"
    return rows if changed else None


def restate_commit(results_dir, recorded, sent, reason):
    """Correct the commit recorded in a results dir's files when the machine that made them misread it (a GPU
    machine whose .git was not the tree it was sent): `recorded` → `sent` (a clean checkout), in JSON fields, CSV
    columns and the LaTeX tables' short hashes. Appends the correction, with `reason`, to provenance-corrections.json
    there. Returns the files changed."""
    import csv

    from gan_study.atomic import atomic_path, write_json, write_text

    root, changed = Path(results_dir), []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".json", ".csv", ".tex") and p.is_file()):
        text = path.read_text()
        if recorded[:10] not in text or path.name == "provenance-corrections.json":
            continue
        if path.suffix == ".json":
            write_json(path, _restate(json.loads(text), recorded, sent))
        elif path.suffix == ".csv" and (rows := _restate_csv(path, recorded, sent)) is not None:
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(rows)
        elif path.suffix == ".tex":
            write_text(path, text.replace(f"{recorded[:10]}+dirty", sent[:10]).replace(recorded[:10], sent[:10]))
        changed.append(path.relative_to(root).as_posix())
    log = root / "provenance-corrections.json"
    entries = json.loads(log.read_text()) if log.is_file() else []
    write_json(log, entries + [{"recorded": recorded, "sent": sent, "sent_dirty": False, "reason": reason,
                                "files": changed, "date": now()}])
    return changed
