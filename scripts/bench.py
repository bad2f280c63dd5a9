"""End-to-end benchmark (`make bench`): realistic price lists through the real queue, worker
processes, dlt and dbt, on a database of its own; prints a table, then one JSON document.

Environment:
  BENCH_SIZES    list sizes in rows, default "10000,100000,1000000"
  BENCH_FORMATS  default "csv,xlsx"
  BENCH_LISTS    lists of 500 rows for the throughput run, default 200
  BENCH_WORKERS  worker counts for the throughput run, default "1,2,5"
  BENCH_JSON     also write the JSON document to this file
  BENCH_BASELINE the recorded run to compare with, default docs/bench-results.json: a list
                 25% further from the COPY floor, or a slower small list or throughput, is
                 printed as a regression and the command fails

Stages come from the job's own stage records (loader.jobs.report_stage): `read`, `map`,
`land` (dlt; a big list's rows are read while they are landed, and that time, which the task
reports, counts as `read`), `transform` (dbt build, row rules, supplier_items, the price-history snapshot),
`report` (task summary); end to end is enqueue to finish. Inside `transform`, dbt's own timings
split the node seconds into models, history (the snapshot) and validation (data tests); dbt runs
two at a time, so these add up to more than the stage's wall time. Peak memory is sampled every 50 ms
over the worker process and the work-horse it forks per task.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import psycopg

from loader import migrate, runtime
from loader import queue as task_queue
from loader.config import PROJECT_ROOT, Settings
from loader.db import create_database, drop_database
from loader.task import ParseTask

HEADER = ["Артикул", "Наименование", "Цена, руб.", "Бренд", "Цвет", "Вес, кг", "Длина, мм",
          "Материал", "Страна", "Гарантия, мес", "Упаковка", "Штрихкод", "Остаток"]  # fmt: skip
COLORS = ["красный", "синий", "чёрный", "белый", "зелёный"]


def row(i: int, version: int = 0) -> list[object]:
    price = (i % 9973) * 10 + 0.5 + version
    whole, cents = divmod(round(price * 100), 100)
    return [f"A-{i:07d}", f"Саморез по дереву 3,5х{i % 90 + 10} оцинк. №{i}",
            f"{whole:,}".replace(",", " ") + f",{cents:02d} руб.", f"Бренд {i % 40}",
            COLORS[i % 5], f"{(i % 50) / 10:.1f}".replace(".", ","), (i % 200) + 10,
            "сталь", "Россия", 12, f"{i % 100 + 1} шт", f"46{i:011d}", i % 500]  # fmt: skip


def make_csv(path: Path, rows: int, version: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Прайс-лист ООО «Крепко»\n\n" + ";".join(HEADER) + "\n")
        for i in range(rows):
            fh.write(";".join(str(v) for v in row(i, version)) + "\n")
    return path


XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="'
    'xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Прайс" sheetId="1" r:id="rId1"/>'
    "</sheets></workbook>",
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships '
    'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
    'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def _xlsx_row(number: int, values: list[object]) -> str:
    cells = "".join(
        f'<c t="n"><v>{v}</v></c>'
        if isinstance(v, int)
        else f'<c t="inlineStr"><is><t>{xml_escape(str(v))}</t></is></c>'
        for v in values
    )
    return f'<row r="{number}">{cells}</row>'


def make_xlsx(path: Path, rows: int) -> Path:
    """The sheet XML written directly, as openpyxl's write-only mode writes it (inline strings),
    8x faster: openpyxl took 2 of make bench's 15 minutes for the 1M-row list."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as xlsx:
        for name, text in XLSX_PARTS.items():
            xlsx.writestr(name, text)
        with xlsx.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            head = [_xlsx_row(1, ["Прайс-лист ООО «Крепко»"]), _xlsx_row(3, list(HEADER))]
            sheet.write("".join(head).encode())
            for start in range(0, rows, 10_000):
                chunk = range(start, min(start + 10_000, rows))
                sheet.write("".join(_xlsx_row(i + 4, row(i)) for i in chunk).encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


class MemorySampler:
    """Peak RSS of a process and its children (RQ forks a work-horse per task)."""

    def __init__(self, pid: int):
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        pids = [self.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                    pids.append(int(entry))
        return pids

    def _rss_kb(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_kb = max([self.peak_kb, *(self._rss_kb(p) for p in self._tree())])

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


class Bench:
    def __init__(self) -> None:
        base = Settings()
        self.admin_url = runtime.database_url(base)
        self.redis_url = runtime.redis_url(base)
        self.name = f"mb_bench_{uuid.uuid4().hex[:8]}"
        self.url = create_database(self.admin_url, self.name)
        migrate.upgrade(self.url)
        self.queue_name = f"bench-{uuid.uuid4().hex[:8]}"
        self.conn = task_queue.connect(self.redis_url)
        self.queue = task_queue.get_queue(self.conn, self.queue_name)
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        self.env = {**os.environ, "DATABASE_URL": self.url, "REDIS_URL": self.redis_url,
                    "QUEUE_NAME": self.queue_name, "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING",
                    "MAX_ROWS": "2000000", "MAX_FILE_MB": "1000",
                    "FILES_ROOT": str(self.tmp)}  # fmt: skip

    def workers(self, n: int) -> list[subprocess.Popen[bytes]]:
        """Start n more workers and wait until they are all registered."""
        expected = len(task_queue.Worker.all(queue=self.queue)) + n
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "loader", "worker"],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for _ in range(n)
        ]
        deadline = time.monotonic() + 120
        while len(task_queue.Worker.all(queue=self.queue)) < expected:
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)
        return procs

    @staticmethod
    def stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=120)

    def enqueue(self, supplier: str, path: Path) -> task_queue.Job:
        task = ParseTask.parse({
            "task_id": f"{supplier}-{uuid.uuid4().hex[:8]}",
            "supplier": {"code": supplier, "default_currency": "RUB"},
            "source": {"type": path.suffix.lstrip("."), "path": str(path)},
        })  # fmt: skip
        return task_queue.enqueue(task, self.queue).job

    def finish(self, job: task_queue.Job, timeout: float = 3600) -> dict[str, Any]:
        result = task_queue.wait(job, timeout, poll_s=0.02, database_url=self.url)
        assert result["status"] in ("success", "partial_success"), result
        return result

    def close(self) -> None:
        task_queue.delete_queue(self.redis_url, self.queue_name)
        drop_database(self.admin_url, self.name)
        shutil.rmtree(self.tmp, ignore_errors=True)  # the 1M-row lists are 100s of MB


def stages_of(job: task_queue.Job) -> dict[str, float]:
    marks = job.get_meta(refresh=True).get("stages", [])
    times = [dt.datetime.fromisoformat(m["at"]) for m in marks]
    ended = job.ended_at.replace(tzinfo=dt.UTC) if job.ended_at else times[-1]
    ends = [*times[1:], ended]
    stages: dict[str, float] = {}  # a workbook reads and maps each sheet: summed by stage
    for m, t, e in zip(marks, times, ends, strict=True):
        stages[m["name"]] = round(stages.get(m["name"], 0.0) + (e - t).total_seconds(), 3)
    # A streamed list's rows are read while they are landed; the task says for how long.
    streamed = sum(m.get("read_while_landing_s", 0.0) for m in marks)
    if streamed and "land" in stages:
        stages["read"] = round(stages.get("read", 0.0) + streamed, 3)
        stages["land"] = round(stages["land"] - streamed, 3)
    return stages


def end_to_end_s(job: task_queue.Job) -> float:
    job.refresh()
    assert job.enqueued_at and job.ended_at
    return (job.ended_at - job.enqueued_at).total_seconds()


def copy_floor(bench: Bench, rows: int) -> float:
    """The same rows with psycopg COPY into an unlogged table: what PostgreSQL alone costs."""
    with psycopg.connect(bench.url, autocommit=True) as conn:
        conn.execute("create unlogged table if not exists public.copy_floor"
                     f" ({', '.join(f'c{i} text' for i in range(len(HEADER)))})")  # fmt: skip
        conn.execute("truncate public.copy_floor")
        data = [[str(v) for v in row(i)] for i in range(rows)]
        started = time.perf_counter()
        with conn.cursor().copy("copy public.copy_floor from stdin") as copy:
            for values in data:
                copy.write_row(values)
        return rows / (time.perf_counter() - started)


def dbt_node_seconds(job: task_queue.Job) -> dict[str, float]:
    """dbt's node seconds by kind (models, history, validation), as the task reported them."""
    marks = job.get_meta(refresh=True).get("stages", [])
    return {
        key.removeprefix("dbt_").removesuffix("_s"): value
        for mark in marks
        for key, value in mark.items()
        if key.startswith("dbt_") and key.endswith("_s")
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
    formats = os.environ.get("BENCH_FORMATS", "csv,xlsx").split(",")
    n_lists = int(os.environ.get("BENCH_LISTS", "200"))
    worker_counts = [int(s) for s in os.environ.get("BENCH_WORKERS", "1,2,5").split(",")]
    bench = Bench()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "date": dt.date.today().isoformat()},
        "runs": [],
    }  # fmt: skip
    try:
        workers = bench.workers(1)
        sampler = MemorySampler(workers[0].pid).start()
        bench.finish(bench.enqueue("warmup", make_csv(bench.tmp / "warm.csv", 100)))
        # Small lists with a warm worker: latency.
        starts, totals = [], []
        for i in range(10):
            job = bench.enqueue("small", make_csv(bench.tmp / f"small{i}.csv", 100, version=i))
            bench.finish(job)
            job.refresh()
            starts.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
            totals.append(end_to_end_s(job))
        report["enqueue_to_start_ms_p50"] = round(statistics.median(starts), 1)
        report["enqueue_to_start_ms_p95"] = round(percentile(starts, 0.95), 1)
        report["small_list_latency_s_p50"] = round(statistics.median(totals), 3)
        report["small_list_latency_s_p95"] = round(percentile(totals, 0.95), 3)
        sampler.stop()

        for size in sizes:
            for fmt in formats:
                path = bench.tmp / f"list-{size}.{fmt}"
                (make_csv if fmt == "csv" else make_xlsx)(path, size)
                sampler = MemorySampler(workers[0].pid).start()
                job = bench.enqueue(f"big-{fmt}-{size}", path)
                result = bench.finish(job)
                peak = sampler.stop()
                total = end_to_end_s(job)
                report["runs"].append({
                    "rows": size, "format": fmt, "items": result["items_accepted"],
                    "end_to_end_s": round(total, 2),
                    "end_to_end_items_per_s": round(result["items_accepted"] / total),
                    "peak_rss_mb": round(peak), "stages_s": stages_of(job),
                    "dbt_node_s": dbt_node_seconds(job),
                })  # fmt: skip
                print(f"  {fmt} {size}: {total:.1f} s", file=sys.stderr, flush=True)

        report["copy_floor_items_per_s"] = round(copy_floor(bench, max(sizes)))
        for run in report["runs"]:
            run["ratio_to_copy_floor"] = round(
                report["copy_floor_items_per_s"] / run["end_to_end_items_per_s"], 1
            )

        report["lists"] = n_lists
        report["lists_per_s"] = {}
        # Tasks that found another worker's dbt run in progress, or more tasks queued, and handed
        # their landings over (loader.handover); the rate counts until their final results are
        # written.
        report["lists_handed_over"] = {}
        # The worker of the big lists goes on, and each run adds workers: every start costs a
        # warm-up (make bench is to take under 15 minutes).
        for count in sorted(worker_counts):
            paths = [
                make_csv(bench.tmp / f"t{count}-{i}.csv", 500, version=i) for i in range(n_lists)
            ]
            if count > len(workers):
                workers += bench.workers(count - len(workers))
            started = time.monotonic()
            jobs = [bench.enqueue(f"supplier-{i % 10}", p) for i, p in enumerate(paths)]
            for job in jobs:
                bench.finish(job)
            report["lists_per_s"][str(count)] = round(n_lists / (time.monotonic() - started), 2)
            report["lists_handed_over"][str(count)] = sum(
                job.return_value()["status"] == "transforming" for job in jobs
            )
        bench.stop(workers)
        publish(report)  # before the clean-up: the numbers are what took ten minutes
    finally:
        bench.close()
    check_regressions(report)


def publish(report: dict[str, Any]) -> None:
    print_table(report)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(text + "\n")


def check_regressions(report: dict[str, Any]) -> None:
    baseline = Path(os.environ.get("BENCH_BASELINE", PROJECT_ROOT / "docs" / "bench-results.json"))
    if baseline.exists():
        regressions = compare(report, json.loads(baseline.read_text()))
        for line in regressions:
            print(f"REGRESSION vs {baseline.name}: {line}", file=sys.stderr)
        if regressions:
            sys.exit(1)


# A run is a regression when it is this much slower than the recorded one (a noisy machine
# varies by 10-15%).
TOLERANCE = 1.25


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """What got slower than the recorded run (docs/bench-results.json): the ratio to the COPY
    floor and the peak memory of each list, the small-list latency, the throughput by worker
    count. Latency and throughput are in seconds, so they are first scaled by how much slower
    this machine is than the recorded one, measured by the COPY floor (the same machine type
    varies: one day's floor was 1.27M rows/s, the next day's 0.81M, docs/performance.md)."""
    found = []
    recorded = {(r["rows"], r["format"]): r for r in baseline.get("runs", [])}
    for run in report["runs"]:
        before = recorded.get((run["rows"], run["format"]))
        if before and run["ratio_to_copy_floor"] > before["ratio_to_copy_floor"] * TOLERANCE:
            found.append(
                f"{run['format']} {run['rows']}: {run['ratio_to_copy_floor']}x the COPY floor,"
                f" was {before['ratio_to_copy_floor']}x"
            )
        if before and run["peak_rss_mb"] > before["peak_rss_mb"] * TOLERANCE:
            found.append(
                f"{run['format']} {run['rows']}: peak {run['peak_rss_mb']} MB,"
                f" was {before['peak_rss_mb']} MB"
            )
    floor, floor_before = report["copy_floor_items_per_s"], baseline.get("copy_floor_items_per_s")
    slower = floor_before / floor if floor and floor_before else 1.0
    latency, latency_before = (
        report["small_list_latency_s_p50"],
        baseline.get("small_list_latency_s_p50"),
    )
    if latency_before and latency > latency_before * slower * TOLERANCE:
        found.append(
            f"100-row list {latency} s p50, was {latency_before} s on a machine"
            f" {slower:.2f}x as fast"
        )
    for count, rate in report["lists_per_s"].items():
        rate_before = baseline.get("lists_per_s", {}).get(count)
        if rate_before and rate * slower * TOLERANCE < rate_before:
            found.append(
                f"{count} worker(s): {rate} lists/s, was {rate_before} on a machine"
                f" {slower:.2f}x as fast"
            )
    return found


def print_table(report: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\n{'list':14} {'items':>8} {'seconds':>8} {'items/s':>8} {'peak MB':>8} {'x COPY':>7}"
          "  stages (s)", file=out)  # fmt: skip
    for run in report["runs"]:
        stages = " ".join(f"{k}={v}" for k, v in run["stages_s"].items())
        stages += (
            " (dbt node s: " + " ".join(f"{k}={v}" for k, v in run["dbt_node_s"].items()) + ")"
        )
        print(f"{run['format'] + ' ' + str(run['rows']):14} {run['items']:>8} "
              f"{run['end_to_end_s']:>8} {run['end_to_end_items_per_s']:>8} "
              f"{run['peak_rss_mb']:>8} {run['ratio_to_copy_floor']:>7}  {stages}", file=out)  # fmt: skip
    print(f"COPY floor: {report['copy_floor_items_per_s']} rows/s", file=out)
    print(f"100-row list, warm worker: {report['small_list_latency_s_p50']} s p50, "
          f"{report['small_list_latency_s_p95']} s p95; enqueue to start "
          f"{report['enqueue_to_start_ms_p50']} ms p50, {report['enqueue_to_start_ms_p95']} ms p95",
          file=out)  # fmt: skip
    for count, rate in report["lists_per_s"].items():
        handed = report.get("lists_handed_over", {}).get(count)
        note = f" ({handed} handed over to another task's dbt run)" if handed is not None else ""
        print(f"{report['lists']} lists of 500 rows, {count} worker(s): {rate} lists/s{note}",
              file=out)  # fmt: skip
    print(file=out)


if __name__ == "__main__":
    main()
