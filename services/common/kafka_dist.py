"""Apache Kafka's broker jars for the embedded broker: the release pinned in apache-kafka.pom.xml, fetched
once with Maven into a cache (the one download leadstate ever makes), or an existing installation named
by LEADSTATE_KAFKA_HOME. Java 17+ runs it."""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

POM = Path(__file__).with_name("apache-kafka.pom.xml")
MIN_JAVA = 17


class KafkaDistError(Exception):
    """Java or the broker's jars are missing and cannot be had; the message says why in one line."""


def kafka_version() -> str:
    found = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert found, f"{POM} pins no kafka.version"
    return found.group(1)


def java_major() -> int | None:
    """The major version of the `java` on the PATH, or None when there is none."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def libs_dir(cache_root: Path, kafka_home: Path | None = None) -> Path:
    if kafka_home is not None:
        return kafka_home / "libs"
    return cache_root / f"apache-kafka-{kafka_version()}" / "libs"


def ensure_kafka_libs(
    cache_root: Path, kafka_home: Path | None = None, *, say: Callable[[str], None] = print
) -> Path:
    """The directory of the broker's jars, fetched with Maven the first time (under a lock, so parallel
    test workers fetch once). Raises KafkaDistError with one clear line when that cannot be done."""
    libs = libs_dir(cache_root, kafka_home)
    if kafka_home is not None:
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise KafkaDistError(
                f"LEADSTATE_KAFKA_HOME={kafka_home} holds no Kafka broker (no libs/kafka_2.13-*.jar)"
            )
        return libs
    done = libs / ".complete"
    if done.exists():
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaDistError("Maven (mvn) is not on the PATH: cannot fetch Apache Kafka's jars")
        say(f"leadstate: fetching Apache Kafka {kafka_version()} from Maven Central into {libs.parent} …")
        staging = Path(tempfile.mkdtemp(prefix=".libs-", dir=libs.parent))
        try:
            fetched = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(POM),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={staging}",
                    "-DincludeScope=runtime",
                ],
                capture_output=True,
                text=True,
                timeout=900,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(staging, ignore_errors=True)
            raise KafkaDistError(
                "fetching Apache Kafka's jars with Maven took over 15 minutes; try again"
            ) from None
        if fetched.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            last = (fetched.stdout + fetched.stderr).strip().splitlines()[-1:] or ["no output"]
            raise KafkaDistError(f"Maven could not fetch Apache Kafka {kafka_version()}: {last[0][:300]}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        done.touch()
    return libs
