"""Timing, peak memory and machine description for the benchmark scripts.

Every measured command runs in its own child process, started through a tiny wrapper
(``/usr/bin/time -f %M`` when present, else a small Python one) that reports the command's own
``ru_maxrss``. The wrapper matters: on Linux a child's ``ru_maxrss`` starts from the RSS high-water
mark of the process that forked it (``exec`` keeps it), so a command forked straight from this
driver, which holds hundreds of MiB after generating the data, would report the driver's peak
instead of its own. Forked from a ~2-10 MiB wrapper, it reports its own.

The page cache cannot be dropped without root, so every figure is a warm-cache figure: the
scripts read their sources once before the first round so that all rounds start equally warm.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Run",
    "describe_machine",
    "dir_size",
    "format_bytes",
    "format_seconds",
    "load_average",
    "median",
    "read_all",
    "run",
]


@dataclass(frozen=True, slots=True)
class Run:
    """One measured child process."""

    seconds: float
    max_rss_kib: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def max_rss_mib(self) -> float:
        """Peak resident set size in MiB."""
        return self.max_rss_kib / 1024


_TIME = "/usr/bin/time"
# Fallback wrapper: run the command, then print the peak RSS (KiB) of that one child.
_WRAPPER = (
    "import os,sys\n"
    "pid=os.posix_spawnp(sys.argv[2],sys.argv[2:],os.environ)\n"
    "_,status,usage=os.wait4(pid,0)\n"
    "open(sys.argv[1],'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
) -> Run:
    """Run ``argv`` in a child process; time it wall-clock and read its own peak RSS.

    The clock starts just before the wrapper is spawned and stops when it exits, so
    interpreter start-up is included (that is what a user waits for); the wrapper itself adds
    about a millisecond with ``/usr/bin/time``.

    Raises:
        RuntimeError: ``check`` is set and the command exits non-zero (stderr is included).
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    fd, rss_file = tempfile.mkstemp(prefix="rss-", suffix=".txt")
    os.close(fd)
    if os.access(_TIME, os.X_OK):
        wrapped = [_TIME, "-q", "-o", rss_file, "-f", "%M", *argv]
    else:
        wrapped = [sys.executable, "-S", "-c", _WRAPPER, rss_file, *argv]
    try:
        start = time.perf_counter()
        proc = subprocess.run(wrapped, env=full_env, cwd=cwd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        lines = Path(rss_file).read_text().split()
    finally:
        os.unlink(rss_file)
    # GNU time writes "Command exited with non-zero status N" before the format line.
    max_rss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    result = Run(seconds, max_rss, proc.returncode, proc.stdout, proc.stderr)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"command failed with exit code {result.returncode}: {' '.join(argv)}\n{proc.stderr}"
        )
    return result


def median(values: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    return statistics.median(values)


def dir_size(path: Path) -> tuple[int, int]:
    """(total bytes, file count) of the regular files under ``path`` (links not followed)."""
    total = count = 0
    for folder, _, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            total += st.st_size
            count += 1
    return total, count


def read_all(path: Path) -> int:
    """Read every file under ``path`` once (to warm the page cache); returns bytes read."""
    total = 0
    buf = bytearray(8 * 1024 * 1024)
    view = memoryview(buf)
    for folder, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(folder, name), "rb", buffering=0) as f:
                while n := f.readinto(view):
                    total += n
    return total


def format_seconds(s: float) -> str:
    """Seconds with 3 significant-ish digits: ``0.123 s``, ``12.3 s``."""
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def format_bytes(n: float) -> str:
    """Binary units: ``1.00 GiB``, ``215.3 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# -- machine description ---------------------------------------------------------------------


def describe_machine(workdir: Path) -> dict[str, str]:
    """What the figures were measured on: CPU, cores, RAM, the work dir's disk, software."""
    mount, fstype, device, options = _mount_of(workdir)
    usage = shutil.disk_usage(workdir)
    return {
        "CPU": _cpu_model(),
        "Cores": _cores(),
        "RAM": format_bytes(_meminfo_kib("MemTotal") * 1024),
        "Work dir": f"{workdir} (mount {mount}, {fstype} on {device}, {_disk_kind(device)})",
        "Mount options": options,
        "Free space at start": format_bytes(usage.free),
        "Kernel": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({sys.executable})",
        "artstore": _artstore_revision(),
        "Bytecode": "PYTHONDONTWRITEBYTECODE=1 is set: modules without a .pyc (artstore's own) "
        "compile at every start"
        if os.environ.get("PYTHONDONTWRITEBYTECODE")
        else "cached, as in a normal install"
        + (
            f" (PYTHONPYCACHEPREFIX={os.environ['PYTHONPYCACHEPREFIX']})"
            if os.environ.get("PYTHONPYCACHEPREFIX")
            else ""
        ),
        "Load average at start": load_average(),
        "Page cache": "warm (cannot be dropped without root; sources are read once before "
        "round 1, so every round starts equally warm)",
    }


def machine_table(machine: dict[str, str]) -> list[str]:
    """The "### Machine" section of a results page: a heading and a two-column table."""
    rows = [f"| {k} | {v} |" for k, v in machine.items()]
    return ["### Machine", "", "| | |", "|---|---|", *rows]


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews every figure."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cores() -> str:
    total = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = total
    return f"{usable} usable of {total} logical"


def _meminfo_kib(key: str) -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _mount_of(path: Path) -> tuple[str, str, str, str]:
    """(mount point, fs type, device, options) of the longest mount prefix of ``path``."""
    target = str(path.resolve())
    best = ("/", "unknown", "unknown", "")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                device, mount, fstype, options = line.split()[:4]
                mount = mount.replace("\\040", " ")
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best[0]):
                    best = (mount, fstype, device, options)
    except OSError:
        pass
    return best


def _disk_kind(device: str) -> str:
    name = os.path.basename(device)
    for candidate in (name, name.rstrip("0123456789"), name.rstrip("0123456789").rstrip("p")):
        flag = Path("/sys/block") / candidate / "queue" / "rotational"
        if flag.exists():
            # virtio disks often report 1 whatever the medium is: quote the flag, not a verdict
            return f"sysfs {candidate}/queue/rotational={flag.read_text().strip()}"
    return "disk type unknown"


def _artstore_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "artstore"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"git {rev}" + (" + uncommitted changes under artstore/" if dirty else "")


def write_section(path: Path, name: str, section: str) -> None:
    """Put ``section`` (which starts with ``<!-- name:begin -->`` and ends with
    ``<!-- name:end -->``) into the results file, replacing that benchmark's previous section
    and keeping the others, one blank line between two; create the file or append the section
    as needed."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = section.rstrip("\n") + "\n"  # with or without its newline: the same layout
    if path.exists():
        text = path.read_text()
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            tail = rest.split(end, 1)[1].lstrip("\n")
            text = head + section + ("\n" + tail if tail else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# artstore benchmark results\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cache_bytecode(work: Path) -> None:
    """Let the measured commands start as an installed artstore does, with compiled bytecode.

    Some environments set ``PYTHONDONTWRITEBYTECODE``, which makes every start compile
    artstore's modules again; the bytecode goes to a folder in the work dir instead, filled
    once here before anything is timed.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    subprocess.run(
        [sys.executable, "-c", "import artstore.cli, artstore.artifacts, artstore.lineage.catalog"],
        check=True,
    )


def note(msg: str) -> None:
    """Progress for the person running a benchmark: stderr, so results stay on stdout."""
    print(msg, file=sys.stderr, flush=True)


def make_workdir(given: Path | None, prefix: str) -> Path:
    """A fresh folder for one run's data: inside ``given`` when set, else in the temp dir."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=given))
